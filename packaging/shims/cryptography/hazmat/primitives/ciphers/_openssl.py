"""AES-CBC through OpenSSL's EVP interface, called with ctypes.

Only the libcrypto ALREADY in this process is used: the one Python's ``_hashlib`` is linked to, which
importing ``_hashlib`` loads (in the frozen app, the bundle's own copy). It is found in
``/proc/self/maps`` (or by its usual sonames) and opened with ``RTLD_NOLOAD``, which returns a handle
only for a library that is already mapped: this module never loads a second OpenSSL next to the one
Python uses (a system libcrypto.so.3 beside a bundled 1.1, or beside a Python whose OpenSSL is
linked statically, as python-build-standalone's is).

If no libcrypto is loaded, or it lacks the functions, importing this module raises ImportError with
the reason. SecretStorage imports it when it is imported, so keyring then finds its Secret Service
backend unavailable and the app keeps the token for this run only, and says so
(``app.ui.secrets``), instead of failing on first use.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

with contextlib.suppress(ImportError):  # without it, nothing loaded libcrypto: the lookup says so
    import _hashlib  # noqa: F401 (loads the libcrypto that hashlib uses before it is looked up)

_SONAMES = ("libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so")
_NOLOAD = getattr(os, "RTLD_NOLOAD", 0)
_FUNCTIONS = ("EVP_CIPHER_CTX_new", "EVP_CIPHER_CTX_free", "EVP_aes_128_cbc", "EVP_aes_192_cbc",
              "EVP_aes_256_cbc", "EVP_CipherInit_ex", "EVP_CIPHER_CTX_set_padding", "EVP_CipherUpdate",
              "EVP_CipherFinal_ex")


def _mapped_libcrypto() -> list[str]:
    """Paths of the libcrypto files mapped into this process (Linux), in map order."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = [line.split(None, 5)[-1].strip() for line in maps if "libcrypto" in line]
    except OSError:
        return []
    return list(dict.fromkeys(p for p in paths if os.path.basename(p).startswith("libcrypto.so")))


def _already_loaded() -> ctypes.CDLL:
    for name in (*_mapped_libcrypto(), *_SONAMES):
        try:
            return ctypes.CDLL(name, mode=_NOLOAD)  # a handle only if it is already mapped
        except OSError:
            continue
    raise ImportError(
        "AES-CBC for the keyring needs the OpenSSL library (libcrypto) that Python's hashlib uses, and "
        "none is loaded in this process; no second OpenSSL is loaded for it"
    )


def _bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i, buf = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    signatures = {
        "EVP_CIPHER_CTX_new": (p, []),
        "EVP_CIPHER_CTX_free": (None, [p]),
        "EVP_aes_128_cbc": (p, []),
        "EVP_aes_192_cbc": (p, []),
        "EVP_aes_256_cbc": (p, []),
        "EVP_CipherInit_ex": (i, [p, p, p, buf, buf, i]),
        "EVP_CIPHER_CTX_set_padding": (i, [p, i]),
        "EVP_CipherUpdate": (i, [p, buf, ctypes.POINTER(i), buf, i]),
        "EVP_CipherFinal_ex": (i, [p, buf, ctypes.POINTER(i)]),
    }
    try:
        for fn in _FUNCTIONS:
            res, args = signatures[fn]
            getattr(lib, fn).restype = res
            getattr(lib, fn).argtypes = args
    except AttributeError as exc:
        raise ImportError(f"the loaded libcrypto lacks {exc}") from None
    return lib


_LIB = _bind(_already_loaded())


def _libcrypto() -> ctypes.CDLL:
    return _LIB


class CipherContext:
    """One encryption or decryption; ``finalize`` ends it and frees the OpenSSL context."""

    def __init__(self, key: bytes, iv: bytes, *, encrypt: bool) -> None:
        lib = _libcrypto()
        cipher = {16: lib.EVP_aes_128_cbc, 24: lib.EVP_aes_192_cbc, 32: lib.EVP_aes_256_cbc}[len(key)]()
        self._ctx = lib.EVP_CIPHER_CTX_new()
        if not self._ctx:
            raise MemoryError("EVP_CIPHER_CTX_new failed")
        ok = lib.EVP_CipherInit_ex(self._ctx, cipher, None, key, iv, int(encrypt)) == 1
        if not ok or lib.EVP_CIPHER_CTX_set_padding(self._ctx, 0) != 1:
            self._free()
            raise ValueError("OpenSSL refused the AES-CBC key or IV")

    def update(self, data: bytes) -> bytes:
        data = bytes(data)
        out, written = ctypes.create_string_buffer(len(data) + 16), ctypes.c_int(0)
        if _libcrypto().EVP_CipherUpdate(self._live(), out, ctypes.byref(written), data, len(data)) != 1:
            raise ValueError("AES-CBC update failed")
        return out.raw[: written.value]

    def finalize(self) -> bytes:
        out, written = ctypes.create_string_buffer(16), ctypes.c_int(0)
        ok = _libcrypto().EVP_CipherFinal_ex(self._live(), out, ctypes.byref(written)) == 1
        self._free()
        if not ok:
            raise ValueError("The length of the provided data is not a multiple of the block length.")
        return out.raw[: written.value]

    def _live(self) -> int:
        if not self._ctx:
            raise ValueError("Context was already finalized.")
        return int(self._ctx)

    def _free(self) -> None:
        if getattr(self, "_ctx", None):
            _libcrypto().EVP_CIPHER_CTX_free(self._ctx)
        self._ctx = None

    def __del__(self) -> None:
        self._free()
