#!/usr/bin/env bash
# Make dist/streamrp2p_VERSION_ARCH.deb from the PyInstaller folder dist/streamr-node
# (run packaging/build.sh first). Installs to /opt/streamrp2p, links /usr/bin/streamr-node,
# adds a desktop entry with the streamr:// URL handler (x-scheme-handler/streamr) and the icon.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/packaging/linux"
DIST="${DIST:-$ROOT/dist}"
BUNDLE="$DIST/streamr-node"
[ -x "$BUNDLE/streamr-node" ] || { echo "error: $BUNDLE/streamr-node not found: run packaging/build.sh first" >&2; exit 1; }
VERSION="${VERSION:-$(python3 -c 'import tomllib,sys;print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' "$ROOT/pyproject.toml")}"
ARCH="$(dpkg --print-architecture)"

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
install -d "$STAGE/DEBIAN" "$STAGE/opt/streamrp2p" "$STAGE/usr/bin" \
    "$STAGE/usr/share/applications" "$STAGE/usr/share/icons/hicolor/256x256/apps" \
    "$STAGE/usr/share/doc/streamrp2p"
cp -a "$BUNDLE" "$STAGE/opt/streamrp2p/streamr-node"
install -m 0755 "$HERE/streamr-open" "$STAGE/opt/streamrp2p/streamr-open"
ln -s /opt/streamrp2p/streamr-node/streamr-node "$STAGE/usr/bin/streamr-node"
install -m 0644 "$HERE/streamrp2p.desktop" "$STAGE/usr/share/applications/streamrp2p.desktop"
ICON=""
for candidate in app-256.png icons/app-256.png app.png icons/app.png; do
    if [ -f "$ROOT/assets/$candidate" ]; then ICON="$ROOT/assets/$candidate"; break; fi
done
if [ -n "$ICON" ]; then
    install -m 0644 "$ICON" "$STAGE/usr/share/icons/hicolor/256x256/apps/streamrp2p.png"
else
    echo "warning: no app icon found in assets/; the desktop entry will show a generic icon" >&2
fi
printf 'StreamrP2P %s\nLicense: MIT\n' "$VERSION" > "$STAGE/usr/share/doc/streamrp2p/copyright"

SIZE_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE_KB/" \
    "$HERE/control.in" > "$STAGE/DEBIAN/control"
install -m 0755 "$HERE/postinst" "$STAGE/DEBIAN/postinst"
install -m 0755 "$HERE/postrm" "$STAGE/DEBIAN/postrm"

OUT="$DIST/streamrp2p_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT" >/dev/null
echo "$OUT"
