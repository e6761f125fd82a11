"""``Cipher(algorithms.AES(key), modes.CBC(iv), backend).encryptor() / .decryptor()``.

Same contract as the real package for this combination: no padding (the caller pads), ``update``
returns whole blocks, ``finalize`` raises ValueError if a partial block is left over.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers._openssl import CipherContext

__all__ = ["Cipher", "CipherContext", "algorithms", "modes"]


class Cipher:
    def __init__(self, algorithm: algorithms.AES, mode: modes.CBC, backend: Any = None) -> None:
        if not isinstance(algorithm, algorithms.AES) or not isinstance(mode, modes.CBC):
            raise TypeError("only AES in CBC mode is available in this build")
        self.algorithm = algorithm
        self.mode = mode

    def encryptor(self) -> CipherContext:
        return CipherContext(self.algorithm.key, self.mode.initialization_vector, encrypt=True)

    def decryptor(self) -> CipherContext:
        return CipherContext(self.algorithm.key, self.mode.initialization_vector, encrypt=False)
