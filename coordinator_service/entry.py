"""`streamr-coordinator`'s entry: `--version`, and one clear line when the install lacks the
coordinator's packages (a friend's `[desktop]` install has the command too)."""

import sys
from collections.abc import Sequence

from coordinator_service import __version__

__all__ = ["main"]

PROG = "streamr-coordinator"
# What the `coordinator` extra brings; a friend's install has none of them.
SERVER_PACKAGES = frozenset(
    "fastapi uvicorn sqlalchemy alembic aiosqlite asyncpg limits redis prometheus_client "
    "jinja2 multipart python_multipart segno starlette".split()
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the coordinator's CLI, or say which extra to install when its packages are missing."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"]:
        print(f"{PROG} {__version__}")
        return 0
    try:
        from coordinator_service.cli import main as cli_main
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in SERVER_PACKAGES:
            raise
        print(
            f"{PROG}: error: this install has no coordinator (missing {exc.name}): to host, "
            "install it with `pip install 'streamrp2p[coordinator]'`; to relay for a friend, "
            "run `streamr-node`",
            file=sys.stderr,
        )
        return 1
    return cli_main(args)
