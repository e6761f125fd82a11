#!/usr/bin/env bash
# The one entry point for developer tasks. Works on a fresh Debian machine:
#   packaging/dev.sh run [ARGS...]     create .venv if missing, install the app, start it with ARGS
#   packaging/dev.sh test [PYTEST...]  install what the suite needs, then ruff, mypy and pytest (3 workers)
#   packaging/dev.sh bench [ARGS...]   python -m app.bench ARGS
#   packaging/dev.sh audio start|stop|status|env   the virtual PulseAudio setup used by the tests
#                                      (VA_SERVER=pipewire: the same devices on PipeWire + pipewire-pulse)
#   packaging/dev.sh bundle [--measure N]  build the Linux app bundle in dist/ (+ .tar.gz); see packaging/bundle.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
cd "$ROOT"

# System libraries: PortAudio for sounddevice, the libraries Qt's xcb/offscreen plugins load,
# and the test tools (PulseAudio, espeak-ng, sox, Xvfb).
RUN_PKGS="libportaudio2 libasound2-plugins libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
  libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core"
TEST_PKGS="pulseaudio pulseaudio-utils espeak-ng sox xvfb xauth binutils desktop-file-utils appstream
  gnome-keyring dbus-daemon"
# Only when asked for: PipeWire as the sound server (VA_SERVER=pipewire; the live-capture test's
# PipeWire case installs them through virtual-audio.sh), a system tray for `bench app --mode tray`.
PIPEWIRE_PKGS="pipewire pipewire-pulse wireplumber"
BENCH_PKGS="trayer"

log() { printf 'dev.sh: %s\n' "$*" >&2; }

ensure_apt() {
  local missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing system packages:$missing (not a Debian system: install their equivalents)"; return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    log "missing system packages:$missing"
    log "run as root, or: sudo apt-get install$missing"; return 1
  fi
  log "apt-get install$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

find_python() {
  # The first interpreter that really runs and is 3.11-3.13 (a pyenv shim can exist and still fail).
  local c
  for c in python3 python3.13 python3.12 python3.11; do
    if "$c" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' >/dev/null 2>&1; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local extra=$1 stamp="$VENV/.installed-$1"
  if [ ! -x "$PY" ]; then
    local base
    base=$(find_python) || { ensure_apt python3 python3-venv && base=$(find_python); } \
      || { log "Python 3.11, 3.12 or 3.13 is needed (apt-get install python3 python3-venv)"; exit 1; }
    if ! "$base" -m venv "$VENV" >/dev/null 2>&1; then
      # Debian splits venv/ensurepip into python3-venv.
      rm -rf "$VENV"
      ensure_apt python3-venv || { log "python3 -m venv failed: apt-get install python3-venv"; exit 1; }
      "$base" -m venv "$VENV"
    fi
  fi
  # A dev install also serves `run`: it is the same project plus the test tools.
  [ "$extra" = run ] && [ -f "$VENV/.installed-dev" ] && [ ! pyproject.toml -nt "$VENV/.installed-dev" ] \
    && stamp="$VENV/.installed-dev"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log "installing the project into .venv ($extra)"
    "$PY" -m pip install -q --upgrade pip
    if [ "$extra" = dev ]; then "$PY" -m pip install -q -e ".[dev]"; else "$PY" -m pip install -q -e .; fi
    touch "$stamp"
  fi
}

cmd=${1:-help}; shift || true
case "$cmd" in
  run)
    # Say there is no display before spending minutes on installs that cannot lead to a window.
    headless=0
    for a in "$@"; do case "$a" in --headless|--help|-h|--self-test|--version) headless=1 ;; esac; done
    if [ $headless = 0 ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] \
        && [ -z "${QT_QPA_PLATFORM:-}" ] && [ "$(uname)" = Linux ]; then
      log "no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open."
      log "Stream without a window:  packaging/dev.sh run --headless --duration 30 --events -"
      log "or start a virtual display: xvfb-run -a packaging/dev.sh run"
      exit 2
    fi
    ensure_apt $RUN_PKGS || true
    ensure_venv run
    exec "$PY" -m app "$@"
    ;;
  test)
    ensure_apt $RUN_PKGS $TEST_PKGS
    ensure_venv dev
    log "ruff"; "$VENV/bin/ruff" check app tests
    log "mypy --strict (the whole app)"
    "$VENV/bin/mypy" app
    # Most tests wait on real time (streaming at 1x, backends, reconnects), not on the CPU, so 3 workers
    # finish in about half the time even on 2 cores; tests marked `audio` share the virtual sound
    # server's sinks and run on one worker (tests/conftest.py). PYTEST_WORKERS=0 runs in one process.
    log "pytest"
    exec "$PY" -m pytest -n "${PYTEST_WORKERS:-3}" --dist loadgroup "$@"
    ;;
  bench)
    ensure_apt $RUN_PKGS $TEST_PKGS $BENCH_PKGS
    [ "${VA_SERVER:-}" = pipewire ] || [[ " $* " == *" --sound-server pipewire "* ]] && ensure_apt $PIPEWIRE_PKGS
    ensure_venv dev
    exec "$PY" -m app.bench "$@"
    ;;
  audio)
    ensure_apt $TEST_PKGS $RUN_PKGS
    [ "${VA_SERVER:-}" = pipewire ] && ensure_apt $PIPEWIRE_PKGS
    exec bash "$ROOT/packaging/virtual-audio.sh" "$@"
    ;;
  bundle)
    # binutils: PyInstaller's dependency analysis and strip; the distro's libpython when the venv's
    # Python is Debian's (statically linked executable, shared library packaged separately).
    ensure_apt $RUN_PKGS binutils
    ensure_venv dev
    "$PY" -c 'import sysconfig, sys; sys.exit(not sysconfig.get_config_var("Py_ENABLE_SHARED"))' \
      || ensure_apt "libpython$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    exec bash "$ROOT/packaging/bundle.sh" "$@"
    ;;
  *)
    sed -n '2,8p' "$0"; exit 2 ;;
esac
