# Shared set-up for scripts/demo and scripts/test: apt packages and the project's .venv.
# Sourced, not run. Idempotent: a second run installs nothing and takes a second or two.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ensure_apt PKG...: install the Debian packages that are missing (as root, or through sudo).
ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv EXTRAS: make .venv and install the project with those extras when pyproject changed.
ensure_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    if [ ! -x "$VENV/bin/python" ]; then
        ensure_apt python3-venv python3-pip
        say "creating $VENV"
        "$python" -m venv "$VENV"
    fi
    local stamp="$VENV/.streamr-installed"
    local want
    want="$extras $(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing streamrp2p[$extras] into .venv"
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
        "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
        echo "$want" >"$stamp"
    fi
}
