"""What the dashboard needs from the coordinator: data dir, database sessions, admin token."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["DashboardEnv", "SessionFactory", "get_env"]

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class DashboardEnv:
    """The coordinator's parts the dashboard uses; `install()` puts it on `app.state`.

    Args:
        session: opens a session for reading.
        transaction: opens a session for writing (the caller commits).
        admin_token: returns the current admin token (read each time, so a rotated token
            signs every old session out).
        silent_after_s: a node whose last heartbeat is older than this is `silent`.
        public_url: the coordinator's address in invite links (default: as the host reached it).
    """

    data_dir: Path
    session: SessionFactory
    transaction: SessionFactory
    admin_token: Callable[[], str]
    silent_after_s: float = 90.0
    public_url: str = ""


def get_env(request: Request) -> DashboardEnv:
    """Return the dashboard's environment of the running app."""
    env: DashboardEnv = request.app.state.dashboard_env
    return env
