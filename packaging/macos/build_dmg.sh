#!/usr/bin/env bash
# Make dist/StreamrP2P-VERSION.dmg from dist/StreamrP2P.app (built by packaging/build.sh on macOS).
# Runs on macOS only (hdiutil); CI: .github/workflows/build-macos.yml.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VERSION="${VERSION:-$(python3 -c 'import tomllib;print(tomllib.load(open("'"$ROOT"'/pyproject.toml","rb"))["project"]["version"])')}"
APP="$ROOT/dist/StreamrP2P.app"
[ -d "$APP" ] || { echo "error: $APP not found: run packaging/build.sh first" >&2; exit 1; }
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG="$ROOT/dist/StreamrP2P-$VERSION.dmg"
rm -f "$DMG"
hdiutil create -volname "StreamrP2P $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
echo "$DMG"
