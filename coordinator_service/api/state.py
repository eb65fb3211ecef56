"""What one running app shares between requests and background jobs (typed, see `app_state`)."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI

from coordinator_service.api.metrics import Metrics
from coordinator_service.api.ratelimit import RateLimits
from coordinator_service.app_state import lookup
from coordinator_service.config import Settings
from coordinator_service.ledger.earnings import EstimateCache
from coordinator_service.prober.origin import StreamIndex
from coordinator_service.services.heartbeats import CatalogCache, HeartbeatRecorder
from coordinator_service.storage.db import Database

__all__ = ["AppContext", "BackgroundJob", "context"]

BackgroundJob = Callable[["AppContext"], Coroutine[Any, Any, None]]
"""A coroutine function run for the app's lifetime (started after migrations, cancelled at stop)."""


@dataclass
class AppContext:
    """Settings, database and helpers of one app; background jobs get it too."""

    settings: Settings
    db: Database
    metrics: Metrics
    limits: RateLimits
    catalog: CatalogCache
    recorder: HeartbeatRecorder
    admin_token: str = ""
    report_secret: bytes = b""
    auditors: dict[str, datetime] = field(default_factory=dict)
    """Nodes that announced `audits: true` in a heartbeat to this replica, and when."""
    estimates: EstimateCache = field(default_factory=lambda: EstimateCache(ttl_s=5.0))
    origins: dict[str, StreamIndex] = field(default_factory=dict)  # the prober's origin indexes
    background: list[BackgroundJob] = field(default_factory=list)

    @property
    def grace(self) -> timedelta:
        """How long after its last beat a node still counts as up."""
        return timedelta(seconds=self.settings.grace_seconds)


def context(app: FastAPI) -> AppContext:
    """Return the app's context."""
    return lookup(app, AppContext)
