"""What the dashboard needs from the coordinator (data dir, sessions, admin token) and keeps."""

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.app_state import lookup
from coordinator_service.dashboard.auth import SessionSigner, load_secret
from coordinator_service.dashboard.board import Board
from coordinator_service.services.audience import Audience

__all__ = ["DashboardEnv", "SessionFactory", "get_env"]

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True)
class DashboardEnv:
    """The coordinator's parts the dashboard uses, and its caches; `install()` attaches it.

    Args:
        session: opens a session for reading.
        transaction: opens a session for writing (the caller commits).
        admin_token: returns the current admin token (read each time, so a rotated token
            signs every old session out).
        sign_in_limit: counts a sign-in attempt of a client address (raises when too many).
        silent_after_s: a node whose last heartbeat is older than this is `silent`.
        public_url: the coordinator's address in invite links (default: as the host reached it).
        hours: the overview's counted past hours (filled once at start, then per new hour).
        board: the public leaderboard, recomputed every few seconds at most.
        audience: this replica's viewers on relays and on the origin (the watch routes count).
    """

    data_dir: Path
    session: SessionFactory
    transaction: SessionFactory
    admin_token: Callable[[], str]
    sign_in_limit: Callable[[str], Awaitable[None]]
    silent_after_s: float = 90.0
    public_url: str = ""
    hours: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    board: dict[str, Board] = field(default_factory=dict)
    audience: Audience = field(default_factory=Audience)

    @cached_property
    def signer(self) -> SessionSigner:
        """The session signer, made once from the data dir's secret."""
        return SessionSigner(load_secret(self.data_dir))


def get_env(request: Request) -> DashboardEnv:
    """Return the dashboard's environment of the running app."""
    return lookup(request.app, DashboardEnv)
