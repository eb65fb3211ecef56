"""The friend's upload cap: one token bucket shared by every viewer, served first come first.

Waiters queue on a FIFO lock and take one chunk at a time, so viewers interleave chunk by chunk
and share the cap fairly; a slow viewer only delays itself. (A ~30-line bucket is simpler than
adapting a request-rate library to byte-counting with fairness.)
"""

import asyncio
import time

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allow `rate` bytes per second on average, bursts up to `burst` bytes.

    The default burst (half a second of the rate) rides over the short gaps between a viewer's
    requests, so a busy relay really uses its whole cap.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate / 2, 65_536)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    @property
    def chunk_size(self) -> int:
        """A write size that keeps interleaving fine-grained."""
        return int(max(4096, min(self.burst / 4, 65_536)))

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def consume(self, amount: int) -> None:
        """Wait until `amount` bytes may be sent, then take them."""
        async with self._lock:
            self._refill()
            if self._tokens < amount:
                await asyncio.sleep((amount - self._tokens) / self.rate)
                self._refill()
            self._tokens -= amount
