"""Cipher algorithms: AES only."""

from __future__ import annotations


class AES:
    name = "AES"
    block_size = 128
    key_sizes = frozenset([128, 192, 256])

    def __init__(self, key: bytes) -> None:
        key = bytes(key)
        if len(key) * 8 not in self.key_sizes:
            raise ValueError(f"Invalid key size ({len(key) * 8}) for {self.name}.")
        self.key = key

    @property
    def key_size(self) -> int:
        return len(self.key) * 8
