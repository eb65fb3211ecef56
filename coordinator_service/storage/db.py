"""Async engine, sessions and migrations for SQLite (WAL) and PostgreSQL (asyncpg)."""

import asyncio
import errno
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from coordinator_service.errors import StorageError
from coordinator_service.storage import locks

WRITE_TURN_TIMEOUT = 30.0  # seconds a writer waits for its turn in this process
SQLITE_LOCKED_RETRY = 0.05  # seconds between tries of the fast writer while another process writes

__all__ = [
    "DISK_FULL_MESSAGE",
    "MIGRATIONS_DIR",
    "Database",
    "is_disk_full",
    "is_sqlite",
    "migrations_config",
    "one_line",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL points at SQLite."""
    return url.startswith("sqlite")


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is too late).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def migrations_config(connection: Connection | None = None) -> Config:
    """Build an Alembic config from the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _sqlite_engine(url: URL, *, begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
    )
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(
        engine.sync_engine, "begin", _begin_immediate if begin == "BEGIN IMMEDIATE" else _begin
    )
    return engine


def _begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _make_engines(url: str) -> tuple[AsyncEngine, AsyncEngine]:
    """Return (reader, writer). On SQLite the writer is one connection that begins IMMEDIATE."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"the database URL {url!r} is not valid") from exc
    if parsed.drivername == "sqlite+aiosqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StorageError("SQLite needs a file: sqlite+aiosqlite:///PATH/coordinator.db")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # One writer connection: writes queue in the pool instead of sleeping in SQLite's
        # busy handler; BEGIN IMMEDIATE makes other processes (admin commands) wait their turn.
        writer = _sqlite_engine(parsed, begin="BEGIN IMMEDIATE", pool_size=1)
        reader = _sqlite_engine(parsed, begin="BEGIN", pool_size=4)
        return reader, writer
    if parsed.drivername == "postgresql+asyncpg":
        engine = create_async_engine(parsed, pool_size=10, max_overflow=10, pool_pre_ping=True)
        return engine, engine
    raise StorageError(
        f"unsupported database {parsed.drivername!r}: use sqlite+aiosqlite:///FILE "
        "or postgresql+asyncpg://USER@HOST/DB"
    )


class Database:
    """Owns the engines and session factories of one database.

    `session()` is for reading; `transaction()` for writing (on SQLite it holds the single
    writer connection, so keep it short). Services commit their own unit of work.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.reader, self.writer = _make_engines(url)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)
        self._sqlite_writer: sqlite3.Connection | None = None
        self._write_lock: asyncio.Lock | None = None
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """Whether this is a SQLite database (single writer)."""
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Open a session for reading."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Open a session for writing; the caller commits (rolled back if it does not)."""
        async with self.write_lock(), self._write_sessions() as session:
            yield session

    def sqlite_writer(self) -> sqlite3.Connection | None:
        """On SQLite, a plain driver connection for hot paths that write a whole batch at once.

        Used on the event loop's own thread under `write_lock()`: SQLite answers in microseconds,
        while a thread (or aiosqlite's per-statement hops) would fight the loop for the GIL and
        SQLAlchemy's per-statement work would cost more than SQLite's. Autocommit mode: the
        caller issues BEGIN IMMEDIATE / COMMIT. Its busy timeout is short (another process is
        writing): callers retry after `SQLITE_LOCKED_RETRY`. None on other databases.
        """
        if not self.is_sqlite:
            return None
        if self._sqlite_writer is None:
            path = make_url(self.url).database
            assert path
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            _on_sqlite_connect(connection, None)
            connection.execute("PRAGMA busy_timeout=20")
            self._sqlite_writer = connection
        return self._sqlite_writer

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        """Hold this process's SQLite write turn (nothing to hold on PostgreSQL)."""
        if not self.is_sqlite:
            yield
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        try:
            async with asyncio.timeout(WRITE_TURN_TIMEOUT):
                await self._write_lock.acquire()
        except TimeoutError as exc:  # e.g. a transaction opened inside another one
            raise StorageError("the database is busy; try again shortly") from exc
        try:
            yield
        finally:
            self._write_lock.release()

    async def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (idempotent)."""
        try:
            async with self.writer.begin() as conn:
                await conn.run_sync(_upgrade)
        except (SQLAlchemyError, OSError) as exc:
            raise StorageError(f"cannot prepare the database: {one_line(exc)}") from exc

    async def ping(self) -> bool:
        """Tell whether the database answers a trivial query."""
        try:
            async with self.reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()
        if self._sqlite_writer is not None:
            self._sqlite_writer.close()
            self._sqlite_writer = None


MIGRATION_LOCK_ID = locks.MIGRATIONS


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends; the next replica then finds the schema at head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID})
    command.upgrade(migrations_config(connection), "head")


_DISK_FULL = ("disk is full", "no space left", "could not extend file", "disk full")
DISK_FULL_MESSAGE = "the disk under the database is full; the host must free space"


def is_disk_full(exc: BaseException) -> bool:
    """Tell whether a database error means the disk is full (SQLite, PostgreSQL, the OS)."""
    original = getattr(exc, "orig", None) or exc
    if isinstance(original, OSError) and original.errno == errno.ENOSPC:
        return True
    if getattr(original, "sqlstate", None) == "53100":  # PostgreSQL disk_full
        return True
    return any(marker in str(original).lower() for marker in _DISK_FULL)


def one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
