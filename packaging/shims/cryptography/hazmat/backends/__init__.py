"""``default_backend()``: accepted for API compatibility; OpenSSL is the only backend."""

from __future__ import annotations


class _OpenSSLBackend:
    name = "openssl"


_BACKEND = _OpenSSLBackend()


def default_backend() -> _OpenSSLBackend:
    return _BACKEND
