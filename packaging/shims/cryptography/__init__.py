"""Stand-in for the ``cryptography`` package inside the Linux bundle: exactly what SecretStorage uses.

SecretStorage is keyring's Secret Service backend, the way the access token reaches GNOME Keyring,
KWallet or KeePassXC on Linux. It negotiates an encrypted D-Bus session
(``dh-ietf1024-sha256-aes128-cbc-pkcs7``: the key exchange and HKDF it does itself with the standard
library) and needs only AES-CBC without padding from ``cryptography``, which is a 14 MB Rust
extension. This package provides that one cipher through the OpenSSL library the bundle already
carries for Python's own ``ssl`` and ``hashlib`` modules, so the token is encrypted on the bus
exactly as before.

echopanel-companion.spec puts this directory ahead of site-packages on Linux builds only, and
packaging/hooks/hook-cryptography.py stops PyInstaller's hook for the real package from collecting
its binaries. Anything that asks for more than this subset fails with an ImportError.
"""

__version__ = "0+echopanel.aes-cbc"
