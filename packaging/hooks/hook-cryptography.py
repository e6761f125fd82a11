# PyInstaller hook override (Linux builds; echopanel-companion.spec passes this directory as hookspath).
# The Linux bundle imports packaging/shims/cryptography, a pure-Python stand-in that gives SecretStorage
# its AES-CBC through the OpenSSL the bundle already carries. This empty hook replaces
# pyinstaller-hooks-contrib's hook-cryptography.py, which would collect the real package's metadata,
# Rust extension and OpenSSL bindings (14 MB) for a package the bundle does not contain.
hiddenimports = []
datas = []
binaries = []
