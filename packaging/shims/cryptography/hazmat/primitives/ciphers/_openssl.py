"""AES-CBC through OpenSSL's EVP interface, called with ctypes.

The library is the one Python's ``_hashlib`` is linked to: importing ``_hashlib`` first loads it
(in the frozen app, the bundle's own copy), and ``dlopen`` by soname then returns that same copy.
"""

from __future__ import annotations

import _hashlib  # noqa: F401 (loads the libcrypto that hashlib uses before it is looked up by name)
import ctypes
import ctypes.util
from functools import cache

_SONAMES = ("libcrypto.so.3", "libcrypto.so.1.1")


@cache
def _libcrypto() -> ctypes.CDLL:
    names = [*_SONAMES, ctypes.util.find_library("crypto")]
    for name in filter(None, names):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        p, i, buf = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
        for fn, res, args in (
            ("EVP_CIPHER_CTX_new", p, []),
            ("EVP_CIPHER_CTX_free", None, [p]),
            ("EVP_aes_128_cbc", p, []),
            ("EVP_aes_192_cbc", p, []),
            ("EVP_aes_256_cbc", p, []),
            ("EVP_CipherInit_ex", i, [p, p, p, buf, buf, i]),
            ("EVP_CIPHER_CTX_set_padding", i, [p, i]),
            ("EVP_CipherUpdate", i, [p, buf, ctypes.POINTER(i), buf, i]),
            ("EVP_CipherFinal_ex", i, [p, buf, ctypes.POINTER(i)]),
        ):
            getattr(lib, fn).restype = res
            getattr(lib, fn).argtypes = args
        return lib
    raise ImportError("OpenSSL's libcrypto was not found")


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
