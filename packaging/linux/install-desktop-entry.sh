#!/usr/bin/env bash
# Add EchoPanel Companion to the desktop's application menu (or remove it again).
#
#   ./install-desktop-entry.sh               from the unpacked bundle: install for the current user
#   ./install-desktop-entry.sh --system      for every user (/usr/local/share; run as root)
#   ./install-desktop-entry.sh --uninstall   remove what the same kind of install added
#   packaging/linux/install-desktop-entry.sh --bundle dist/echopanel-companion   from the source tree
#
# Installs the desktop entry (its Exec pointing at this bundle's executable, so keep the bundle where
# it is, or run this again after moving it), the icons into the hicolor theme and the AppStream
# metainfo. Nothing is copied out of the bundle except those small files; the app itself stays put.
set -euo pipefail

APP_ID=io.echopanel.Companion
NAME=echopanel-companion
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bundle=""
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
action=install

while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=$2; shift 2 ;;
    --system) data_home=/usr/local/share; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-desktop-entry.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$bundle" ]; then
  if [ -x "$here/$NAME" ]; then bundle=$here                      # inside the unpacked bundle
  else bundle=$(cd "$here/../.." && pwd)/dist/$NAME; fi            # packaging/linux/ in the source tree
fi

apps=$data_home/applications
icons=$data_home/icons/hicolor
metainfo=$data_home/metainfo

refresh_caches() {
  # Optional: desktops rescan on their own, this only makes it immediate. The icon cache is refreshed
  # only where one is maintained already (system themes): creating one in a user's folder would leave
  # a cache that later icon installs do not update.
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$apps" 2>/dev/null || true
  fi
  if [ -f "$icons/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
  fi
}

if [ "$action" = uninstall ]; then
  rm -f "$apps/$APP_ID.desktop" "$metainfo/$APP_ID.metainfo.xml"
  rm -f "$icons"/*/apps/"$APP_ID".png "$icons/scalable/apps/$APP_ID.svg"
  refresh_caches
  echo "Removed the EchoPanel Companion menu entry from $data_home."
  exit 0
fi

bundle=$(cd "$bundle" 2>/dev/null && pwd) || {
  echo "No bundle at $bundle: build it with packaging/dev.sh bundle, or pass --bundle DIR." >&2; exit 1; }
exe=$bundle/$NAME
share=$bundle/share
if [ ! -x "$exe" ] || [ ! -d "$share" ]; then
  echo "$bundle is not an EchoPanel Companion bundle (no $NAME executable or share/ folder)." >&2; exit 1
fi
case "$exe" in
  *[\"\`\$\\]*) echo "The bundle path $exe contains a quote, backquote, \$ or backslash; move it elsewhere." >&2
                exit 1 ;;
esac

# Exec/TryExec need the absolute path; the Desktop Entry spec wants it double-quoted if it has spaces.
quoted_exe=$exe
case "$exe" in *" "*) quoted_exe="\"$exe\"" ;; esac
mkdir -p "$apps" "$metainfo"
sed -e "s|^Exec=.*|Exec=$quoted_exe|" -e "s|^TryExec=.*|TryExec=$exe|" \
  "$share/applications/$APP_ID.desktop" >"$apps/$APP_ID.desktop.tmp"
chmod 644 "$apps/$APP_ID.desktop.tmp"
mv "$apps/$APP_ID.desktop.tmp" "$apps/$APP_ID.desktop"
install -m644 "$share/metainfo/$APP_ID.metainfo.xml" "$metainfo/$APP_ID.metainfo.xml"
(cd "$share/icons/hicolor" && find . -type f -name "$APP_ID.*") | while read -r icon; do
  install -Dm644 "$share/icons/hicolor/$icon" "$icons/$icon"
done
refresh_caches
echo "Installed the EchoPanel Companion menu entry in $data_home (runs $exe)."
