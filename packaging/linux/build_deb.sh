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
chmod 0755 "$STAGE"
install -d "$STAGE/DEBIAN" "$STAGE/opt/streamrp2p" "$STAGE/usr/bin" \
    "$STAGE/usr/share/applications" "$STAGE/usr/share/doc/streamrp2p"
cp -a "$BUNDLE" "$STAGE/opt/streamrp2p/streamr-node"
install -m 0755 "$HERE/streamr-open" "$STAGE/opt/streamrp2p/streamr-open"
ln -s /opt/streamrp2p/streamr-node/streamr-node "$STAGE/usr/bin/streamr-node"
install -m 0644 "$HERE/streamrp2p.desktop" "$STAGE/usr/share/applications/streamrp2p.desktop"
# App icon in every size assets/ has (assets/png/app-N.png), plus the SVG.
icons=0
for png in "$ROOT"/assets/png/app-*.png; do
    [ -f "$png" ] || continue
    size="${png##*/app-}"; size="${size%.png}"
    install -D -m 0644 "$png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/streamrp2p.png"
    icons=$((icons + 1))
done
if [ -f "$ROOT/assets/app.svg" ]; then
    install -D -m 0644 "$ROOT/assets/app.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/streamrp2p.svg"
    icons=$((icons + 1))
fi
[ "$icons" -gt 0 ] || echo "warning: no app icon in assets/; the menu entry shows a generic icon" >&2
printf 'StreamrP2P %s\nLicense: MIT\n' "$VERSION" > "$STAGE/usr/share/doc/streamrp2p/copyright"

SIZE_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE_KB/" \
    "$HERE/control.in" > "$STAGE/DEBIAN/control"
install -m 0755 "$HERE/postinst" "$STAGE/DEBIAN/postinst"
install -m 0755 "$HERE/postrm" "$STAGE/DEBIAN/postrm"

OUT="$DIST/streamrp2p_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$STAGE" "$OUT" >/dev/null
echo "$OUT"
