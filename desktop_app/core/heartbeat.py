"""Heartbeats at the interval the coordinator asks for, with jitter; backoff while it is down."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from desktop_app.core.backoff import Backoff
from desktop_app.core.client import CoordinatorClient
from desktop_app.core.errors import CoordinatorProtocolError, CoordinatorUnreachable, TokenRejected
from streamr_protocol import HeartbeatRequest, HeartbeatResponse

__all__ = ["HeartbeatLoop"]

logger = logging.getLogger(__name__)


class HeartbeatLoop:
    """Send a beat, hand the answer over, sleep, repeat; stop when the token is refused."""

    def __init__(
        self,
        client: CoordinatorClient,
        build: Callable[[], HeartbeatRequest],
        on_answer: Callable[[HeartbeatResponse], Awaitable[None]],
        on_reachability: Callable[[bool, str], None],
        on_rejected: Callable[[str], Awaitable[None]],
        *,
        on_error: Callable[[str], None] = lambda message: None,
        interval_s: float = 30.0,
        jitter: float = 0.1,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.client = client
        self.interval_s = interval_s
        self.jitter = jitter
        self.backoff = Backoff(1.0, backoff_max_s)
        self.reachable: bool | None = None
        self._build = build
        self._on_answer = on_answer
        self._on_reachability = on_reachability
        self._on_rejected = on_rejected
        self._on_error = on_error
        self._wake = asyncio.Event()

    def beat_now(self) -> None:
        """Cut the current wait short (after resume, or when the streams changed)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()  # a wake-up during the beat below asks for another one
            delay = await self._beat_once()
            if delay is None:
                return
            try:  # not wait_for: Python 3.11's loses a cancel that comes with a wake-up
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _beat_once(self) -> float | None:
        try:
            request = self._build()
        except Exception as exc:  # a bug or bad local state: say so, keep trying
            message = (
                f"cannot build the heartbeat: {str(exc).splitlines()[0] if str(exc) else exc!r}"
            )
            logger.error("%s", message, exc_info=logger.isEnabledFor(logging.DEBUG))
            self._on_error(message)
            return self.backoff.next()
        try:
            answer = await self.client.heartbeat(request)
        except TokenRejected as exc:
            logger.error("%s", exc)
            await self._on_rejected(str(exc))
            return None
        except (CoordinatorUnreachable, CoordinatorProtocolError) as exc:
            self._set_reachable(False, str(exc))
            delay = self.backoff.next()
            logger.debug("next heartbeat try in %.1f s", delay)
            return delay
        self._set_reachable(True, "")
        self.backoff.reset()
        self.interval_s = max(1, answer.interval_s)
        await self._on_answer(answer)
        return self.interval_s * random.uniform(1 - self.jitter, 1 + self.jitter)

    def _set_reachable(self, reachable: bool, detail: str) -> None:
        if reachable != self.reachable:
            if reachable:
                logger.info("coordinator reachable at %s", self.client.base_url)
            else:
                logger.warning("%s; retrying with backoff, still relaying", detail)
            self.reachable = reachable
            self._on_reachability(reachable, detail)
