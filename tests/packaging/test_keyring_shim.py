"""The Linux bundle's keyring path without a build: TokenStore with keyring's Secret Service backend
(GNOME Keyring on a private D-Bus) and the ``cryptography`` stand-in (packaging/shims/) ahead of the real
package, in this interpreter. When Python's OpenSSL library is not there to share, the token is kept
for this run only and the app says so; no second OpenSSL is ever loaded into the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bundlekit import ROOT, clean_env
from required_tools import require_tools

SHIMS = ROOT / "packaging" / "shims"
TOKEN = "tok-81c2e7-keyring-only"

# OPENSSL=shared: this Python as it is (its _hashlib loads the system's libcrypto.so.3).
# OPENSSL=static: stands in for a Python whose OpenSSL is linked statically into _hashlib (as
# python-build-standalone's is), which this machine's Python is not: hashlib and hmac are imported while
# _hashlib is blocked (they fall back to the built-in hashes and load no libcrypto), then an empty
# module takes _hashlib's place, importable like the static one and mapping no libcrypto.so either;
# _ssl is blocked (http.client, which keyring imports, then has no HTTPS: keyring does not need it).
PROBE = r"""
import json, os, sys, types
sys.path.insert(0, os.environ["SHIMS"])
sys.path.insert(1, os.environ["ROOT"])
if os.environ["OPENSSL"] == "static":
    sys.modules["_hashlib"] = sys.modules["_ssl"] = None
    import hashlib, hmac, secrets
    sys.modules["_hashlib"] = types.ModuleType("_hashlib")
import keyring
from app.ui.secrets import TokenStore
store = TokenStore()
store.set(os.environ["TOKEN"])
again = TokenStore()
with open("/proc/self/maps") as maps:
    libcrypto = sorted({line.split()[-1] for line in maps if "libcrypto.so" in line})
print(json.dumps({"persistent": store.persistent, "describe": store.describe(), "read_back": again.get(),
                  "again_persistent": again.persistent, "backend": type(keyring.get_keyring()).__module__,
                  "libcrypto": libcrypto}))
"""


def probe(tmp_path: Path, openssl: str) -> dict[str, object]:
    require_tools("gnome-keyring-daemon", "dbus-run-session", package="gnome-keyring and dbus-daemon")
    session = tmp_path / "session.sh"
    session.write_text(
        'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 90\nexec "$@"\n'
    )
    env = clean_env(tmp_path, SHIMS=str(SHIMS), ROOT=str(ROOT), OPENSSL=openssl, TOKEN=TOKEN)
    done = subprocess.run(["dbus-run-session", "--", "bash", str(session), sys.executable, "-I", "-c", PROBE],
                          env=env, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert TOKEN not in done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_with_pythons_shared_openssl_the_token_reaches_the_keyring_through_that_one_library(
    tmp_path: Path,
) -> None:
    result = probe(tmp_path, "shared")
    assert result["backend"] == "keyring.backends.SecretService"
    assert result["persistent"] and result["again_persistent"] and result["read_back"] == TOKEN
    libcrypto = result["libcrypto"]
    assert isinstance(libcrypto, list) and len(libcrypto) == 1, libcrypto  # hashlib's, and only it


def test_without_a_shared_libcrypto_the_token_is_kept_for_this_run_and_no_openssl_is_loaded(
    tmp_path: Path,
) -> None:
    result = probe(tmp_path, "static")
    assert result["libcrypto"] == []  # the stand-in did not load the system's OpenSSL beside Python's
    assert not result["persistent"]
    describe = str(result["describe"])
    assert "kept for this run only" in describe and "libcrypto" in describe, describe
    assert result["read_back"] == ""  # a new run (store) starts without it: it was never persisted
