"""What every `streamr-coordinator` subcommand shares: parser, storage flags, durations, tables.

A part adds its subcommands with `register(subparsers)` (listed in `cli.py`, the one place that
assembles the CLI): parsers whose defaults set `handler=callable(args) -> int`. For database work
use `add_db_options(parser)` and `async with open_database(args) as (settings, db): ...` (it
migrates first). Raise `coordinator_service.errors.Error` for a one-line error (exit 1).
"""

import argparse
import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pydantic
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.config import Settings
from coordinator_service.errors import Error, ValidationError
from coordinator_service.services.admin_token import ensure_data_dir
from coordinator_service.services.app_settings import PUBLIC_URL, get_settings
from coordinator_service.storage.db import Database

__all__ = [
    "DB_KEYS",
    "check_database_exists",
    "Parser",
    "add_db_options",
    "format_table",
    "format_when",
    "link_base",
    "warn_unless_serving",
    "open_database",
    "parse_duration",
    "run_async",
    "settings_from_args",
]

DB_KEYS = ("data_dir", "database_url")
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Parser(argparse.ArgumentParser):
    """Usage errors as one line plus a hint, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def parse_duration(text: str) -> timedelta:
    """Parse `7d`, `12h`, `30m`, `90s`, `2w` or combinations like `1d12h`."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValidationError(f"{text!r} is not a duration: write it like 7d, 12h or 30m")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(compact))
    return timedelta(seconds=seconds)


def add_db_options(parser: argparse.ArgumentParser) -> None:
    """Add `--data-dir` and `--database-url` (the same as `serve` takes)."""
    group = parser.add_argument_group("storage")
    group.add_argument(
        "--data-dir", help="folder of the database and admin token (default: per-user data dir)"
    )
    group.add_argument(
        "--database-url",
        help="sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB "
        "(default: SQLite in the data dir)",
    )


def settings_from_args(
    args: argparse.Namespace, keys: Sequence[str] = DB_KEYS, **overrides: Any
) -> Settings:
    """Build settings from the given flags (flags > STREAMR_* env > defaults)."""
    given = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    given.update(overrides)
    try:
        return Settings(**given)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = "--" + "-".join(str(p) for p in first["loc"]).replace("_", "-")
        raise ValidationError(f"{where}: {first['msg']}") from exc


def check_database_exists(settings: Settings) -> None:
    """Refuse to go on when the SQLite database is not there: only `serve` creates one."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return
    path = Path(url.database)
    if not path.exists():
        raise Error(
            f"no coordinator database at {path}: give --data-dir (the folder `serve` uses), "
            "or start `streamr-coordinator serve` first, which creates it"
        )


@asynccontextmanager
async def open_database(args: argparse.Namespace) -> AsyncIterator[tuple[Settings, Database]]:
    """Open (and migrate) the database named by the flags; closed on exit.

    Never creates a SQLite database: an admin command run without the right --data-dir says so.
    """
    settings = settings_from_args(args)
    check_database_exists(settings)
    ensure_data_dir(settings.data_dir)
    db = Database(settings.database_url)
    try:
        await db.migrate()
        yield settings, db
    finally:
        await db.dispose()


def run_async(coro: Callable[[], Any]) -> int:
    """Run a command's coroutine function; its result (None -> 0) is the exit code."""
    result = asyncio.run(coro())
    return int(result or 0)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Lay out rows as aligned plain-text columns under their headers."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def format_when(value: datetime | None) -> str:
    """Format a UTC time for the CLI's tables, or '-' when unset."""
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


async def link_base(session: AsyncSession, settings: Settings, given: str | None) -> str:
    """The coordinator address links carry: --public-url, else the one the last `serve` on
    this data dir stored."""
    return (
        given or (await get_settings(session, PUBLIC_URL)).get(PUBLIC_URL) or settings.public_url
    ).rstrip("/")


async def warn_unless_serving(base: str) -> None:
    """When nothing answers at `base`, say on stderr that a link assumes it does."""
    if not await _answers(base):
        print(
            f"warning: nothing answers at {base} (the address the last `serve` on this data dir "
            "gave): the link below assumes the coordinator runs there. Start `serve`, or pass "
            "--public-url with the address of the one that runs.",
            file=sys.stderr,
        )


async def _answers(base: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return (await client.get(f"{base}/healthz")).status_code < 500
    except httpx.HTTPError:
        return False
