#!/usr/bin/env bash
# Build the PyInstaller bundles into dist/: the friend's app (dist/streamr-node, one folder,
# windowed) and the coordinator (dist/streamr-coordinator, console); on Linux also the .deb.
#   packaging/build.sh                 # both bundles (+ .deb on Linux)
#   packaging/build.sh node            # only the friend's app (+ .deb on Linux)
#   packaging/build.sh coordinator     # only the coordinator
# PY: the Python with the project's dependencies and pyinstaller (default: .venv/bin/python).
# DEB=0 skips the .deb (the test suite's build does: the bundles are what it smoke-tests).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
WHAT="${1:-all}"
case "$WHAT" in all|node|coordinator) ;; *) echo "usage: $0 [all|node|coordinator]" >&2; exit 2;; esac

build() {
    local name="$1" start end
    start=$(date +%s)
    "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" "packaging/$name.spec"
    end=$(date +%s)
    echo "built dist/$name in $((end - start)) s, $(du -sh "$ROOT/dist/$name" | cut -f1)"
}

if [ "$WHAT" != "coordinator" ]; then
    build streamr-node
    if [ "${DEB:-1}" != 0 ] && [ "$(uname -s)" = "Linux" ] && command -v dpkg-deb >/dev/null; then
        deb="$(packaging/linux/build_deb.sh)"
        echo "built $deb, $(du -h "$deb" | cut -f1)"
    fi
fi
if [ "$WHAT" != "node" ]; then
    build streamr-coordinator
fi
