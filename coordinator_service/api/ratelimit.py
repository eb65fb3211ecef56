"""Rate limits per client IP and per node token (`limits`; memory, or Redis shared by replicas)."""

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from coordinator_service.api.errors import RateLimitedError
from coordinator_service.config import Settings

__all__ = ["RateLimits"]

logger = logging.getLogger(__name__)


class _LazyMemoryStorage(MemoryStorage):
    """limits' memory storage, expiring counters lazily (its own expiry task walks every key
    after every hit, which costs O(nodes) per heartbeat); sweeps stale keys once a minute."""

    _SWEEP_EVERY = 60.0

    def __init__(self) -> None:
        super().__init__()
        self._swept_at = time.time()

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        if self.expirations.get(key, 0) <= now:
            self.storage.pop(key, None)
            self.expirations[key] = now + expiry
        self.storage[key] += amount
        if now - self._swept_at > self._SWEEP_EVERY:
            self._sweep(now)
        return self.storage[key]

    def _sweep(self, now: float) -> None:
        self._swept_at = now
        for key in [k for k, at in self.expirations.items() if at <= now]:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
            self.locks.pop(key, None)


def _storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return _LazyMemoryStorage()
    uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    return RedisStorage(uri, implementation="redispy")


class RateLimits:
    """Limits: `ip` (any caller), `register` (joins per IP), `node` (per node token),
    `report` (viewer report batches per IP), `audit` (peer audit reports per node token, counted
    apart so audits never cost a node its heartbeats)."""

    def __init__(self, settings: Settings) -> None:
        self._storage = _storage(settings.redis_url)
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._items: dict[str, RateLimitItem] = {
            "ip": parse(settings.rate_limit_ip),
            "register": parse(settings.rate_limit_register),
            "node": parse(settings.rate_limit_node),
            "report": parse(settings.rate_limit_report),
            "audit": parse(settings.rate_limit_node),
        }
        self._warned_at = 0.0

    async def hit(self, kind: str, key: str) -> None:
        """Count one request for `key`; raise RateLimitedError when over the `kind` limit."""
        item = self._items[kind]
        try:
            allowed = await self._limiter.hit(item, kind, key)
        except Exception as exc:  # the storage failed (Redis down): let the request through
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                logger.warning("rate limit storage failed, not limiting: %s", exc)
            return
        if allowed:
            return
        retry_after = 1
        try:
            stats = await self._limiter.get_window_stats(item, kind, key)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:  # only the retry hint is lost
            pass
        raise RateLimitedError(
            f"too many requests ({item}); retry in {retry_after} s", retry_after=retry_after
        )

    async def reset(self) -> None:
        """Forget every count (tests)."""
        await self._storage.reset()
