#!/usr/bin/env bash
# Build the Linux one-folder bundle of EchoPanel Companion and a .tar.gz of it.
#
#   packaging/bundle.sh [--dist DIR] [--work DIR] [--no-tar] [--measure N]
#
#   --dist DIR    output directory (default dist/): DIR/echopanel-companion/ and DIR/echopanel-companion-*.tar.gz
#   --work DIR    PyInstaller's work directory (default build/pyinstaller/)
#   --no-tar      skip the archive (the smoke test only needs the folder)
#   --measure N   after building, launch the bundle N times offscreen, as a user starts it, and print
#                 the median time from process start to its first window painted (measure_startup.py)
#   --skip-build  use the bundle already in --dist (with --measure: time it without rebuilding)
#
# Usually run as `packaging/dev.sh bundle`, which first makes sure the dev venv and system libraries
# exist. Uses $PYTHON (default .venv/bin/python) with PyInstaller installed. Besides PyInstaller's
# output, the bundle folder gets install-desktop-entry.sh, share/ (desktop entry, AppStream metainfo,
# icons) and SYSTEM-PACKAGES.txt: the Debian packages whose libraries the bundle links to, found with
# ldd, plus the ones loaded at run time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
NAME=echopanel-companion
APP_ID=io.echopanel.Companion
DIST=$ROOT/dist
WORK=$ROOT/build/pyinstaller
TAR=1
MEASURE=0
BUILD=1

while [ $# -gt 0 ]; do
  case "$1" in
    --dist) DIST=$(realpath -m "$2"); shift 2 ;;
    --work) WORK=$(realpath -m "$2"); shift 2 ;;
    --no-tar) TAR=0; shift ;;
    --measure) MEASURE=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bundle.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

log() { printf 'bundle.sh: %s\n' "$*" >&2; }
[ "$(uname)" = Linux ] || { log "this script builds the Linux bundle; on $(uname) run PyInstaller on the spec (see packaging/README-packaging.md)"; exit 2; }
"$PY" -c 'import PyInstaller' 2>/dev/null || { log "PyInstaller is missing: packaging/dev.sh bundle installs the dev extras"; exit 1; }

BUNDLE=$DIST/$NAME
VERSION=$("$PY" -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$ROOT/pyproject.toml")
ARCH=$(uname -m)

# Libraries the bundle links to that must come from the system: ldd with the bundle's own library
# directories first, so whatever still resolves outside the bundle is a system dependency.
system_packages() {
  local internal=$BUNDLE/_internal libs pkgs lib pkg
  libs=$(find "$BUNDLE" -type f \( -name '*.so*' -o -path "$BUNDLE/$NAME" \) -print0 |
    LD_LIBRARY_PATH="$internal:$internal/PySide6/Qt/lib:$internal/numpy.libs" xargs -0 -n 20 ldd 2>/dev/null |
    awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -v "^$BUNDLE/" | sort -u)
  pkgs=""
  for lib in $libs; do
    pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null || true)
    pkg=${pkg%%:*}
    [ -n "$pkg" ] && pkgs="$pkgs $pkg"
    printf '#   %-40s %s\n' "$(basename "$lib")" "${pkg:-?}"
  done
  # Loaded at run time, not linked: PortAudio (the system copy is preferred over the bundled one),
  # ALSA's PulseAudio/PipeWire plugin and pactl (the zero-config route to the monitor source), a font.
  pkgs="$pkgs libportaudio2 libasound2-plugins pulseaudio-utils fonts-dejavu-core"
  echo "PACKAGES:$(tr ' ' '\n' <<<"$pkgs" | sed '/^$/d' | sort -u | tr '\n' ' ')"
}

build_bundle() {
  "$PY" "$ROOT/packaging/make_icons.py" --check || log "warning: app icons are stale; run packaging/make_icons.py"

  # Send PyInstaller's log to a file; show its tail if it fails.
  mkdir -p "$WORK"
  started=$SECONDS
  log "building $BUNDLE with PyInstaller (log: $WORK/pyinstaller.log)"
  if ! "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$DIST" --workpath "$WORK" \
      "$ROOT/packaging/$NAME.spec" >"$WORK/pyinstaller.log" 2>&1; then
    tail -n 40 "$WORK/pyinstaller.log" >&2
    log "PyInstaller failed"; exit 1
  fi

  # Desktop integration files travel inside the bundle, so install-desktop-entry.sh works after unpacking.
  share=$BUNDLE/share
  rm -rf "$share"
  install -Dm644 "$ROOT/resources/linux/$APP_ID.desktop" "$share/applications/$APP_ID.desktop"
  install -Dm644 "$ROOT/resources/linux/$APP_ID.metainfo.xml" "$share/metainfo/$APP_ID.metainfo.xml"
  install -Dm644 "$ROOT/resources/app/$NAME.svg" "$share/icons/hicolor/scalable/apps/$APP_ID.svg"
  for png in "$ROOT"/resources/app/png/"$NAME"-*.png; do
    size=${png##*-}; size=${size%.png}
    install -Dm644 "$png" "$share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
  done
  install -m755 "$ROOT/packaging/linux/install-desktop-entry.sh" "$BUNDLE/install-desktop-entry.sh"

  if command -v dpkg >/dev/null; then
    table=$(system_packages)
    packages=$(sed -n 's/^PACKAGES://p' <<<"$table")
    {
      echo "# EchoPanel Companion $VERSION ($ARCH): system packages the bundle needs (Debian/Ubuntu names)."
      echo "# Built on $(. /etc/os-release; echo "$PRETTY_NAME"), glibc $(ldd --version | head -1 | awk '{print $NF}'):"
      echo "# the target needs this glibc or newer. Install with:"
      echo "#   sudo apt-get install$( for p in $packages; do printf ' %s' "$p"; done)"
      echo "# Linked system libraries (library -> package):"
      grep -v '^PACKAGES:' <<<"$table"
      echo "$packages"
    } >"$BUNDLE/SYSTEM-PACKAGES.txt"
  fi

  log "bundle built in $((SECONDS - started)) s: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
}

if [ "$BUILD" = 1 ]; then
  build_bundle
elif [ ! -x "$BUNDLE/$NAME" ]; then
  log "no bundle at $BUNDLE to use with --skip-build"; exit 1
fi

if [ "$TAR" = 1 ]; then
  archive=$DIST/$NAME-$VERSION-linux-$ARCH.tar.gz
  gz=gzip; command -v pigz >/dev/null && gz=pigz
  tar -C "$DIST" -cf - "$NAME" | $gz -6 >"$archive"
  log "archive: $archive ($(du -h "$archive" | cut -f1))"
fi
[ -f "$BUNDLE/SYSTEM-PACKAGES.txt" ] && log "target system packages: $(tail -n 1 "$BUNDLE/SYSTEM-PACKAGES.txt")"

if [ "$MEASURE" -gt 0 ]; then
  # As a user starts it (no arguments), offscreen, a fresh home each time: packaging/measure_startup.py.
  "$PY" "$ROOT/packaging/measure_startup.py" --runs "$MEASURE" -- "$BUNDLE/$NAME"
fi
