"""Connection guard of the public relay: per-address cap, slow request heads, eviction at the cap.

Each accepted connection is wrapped in a `Gate` that forwards everything to aiohttp's handler
and watches the first request head: a connection that has not sent a full head within
`head_timeout_s` is dropped (slowloris), one address may hold at most `per_address`
connections, and when the relay is full the oldest connection still sending its head makes
room for a new one, so a few hostile clients cannot lock viewers out.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import cast

__all__ = ["ConnectionGuard", "Gate", "Refuse"]

REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Refuse(asyncio.Protocol):
    """Answer 503 and hang up."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses: cast, do not assert
        writer = cast(asyncio.WriteTransport, transport)
        writer.write(REFUSAL)
        writer.close()


class ConnectionGuard:
    """Book-keeping shared by the gates of one site."""

    def __init__(self, per_address: int, head_timeout_s: float) -> None:
        self.per_address = per_address
        self.head_timeout_s = head_timeout_s
        self.by_address: Counter[str] = Counter()
        self.waiting: dict[Gate, None] = {}  # gates still reading their first head, oldest first

    def evict_slowest(self) -> bool:
        """Drop the oldest connection that has not sent its request head; False if none."""
        for gate in self.waiting:
            gate.abort()
            return True
        return False


class Gate(asyncio.Protocol):
    """Wraps aiohttp's protocol for one connection (everything is forwarded to it)."""

    def __init__(self, guard: ConnectionGuard, make_handler: Callable[[], asyncio.Protocol]):
        self._guard = guard
        self._make_handler = make_handler
        self._handler: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._address = ""
        self._tail = b""
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        peer = self._transport.get_extra_info("peername")
        self._address = str(peer[0]) if peer else ""
        guard = self._guard
        if guard.by_address[self._address] >= guard.per_address:
            self._transport.write(REFUSAL)
            self._transport.close()
            return
        guard.by_address[self._address] += 1
        guard.waiting[self] = None
        self._timer = asyncio.get_running_loop().call_later(guard.head_timeout_s, self.abort)
        self._handler = self._make_handler()
        self._handler.connection_made(transport)

    def abort(self) -> None:
        """Drop the connection now (its head was too slow, or room is needed)."""
        self._head_done()
        if self._transport is not None:
            self._transport.abort()

    def _head_done(self) -> None:
        self._guard.waiting.pop(self, None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def data_received(self, data: bytes) -> None:
        if self._handler is None:
            return
        if self._timer is not None:
            if b"\r\n\r\n" in self._tail + data:
                self._head_done()
            else:
                self._tail = (self._tail + data)[-3:]
        self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self._handler.eof_received() if self._handler is not None else None

    def pause_writing(self) -> None:
        if self._handler is not None:
            self._handler.pause_writing()

    def resume_writing(self) -> None:
        if self._handler is not None:
            self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._handler is None:
            return
        self._head_done()
        self._guard.by_address[self._address] -= 1
        if self._guard.by_address[self._address] <= 0:
            del self._guard.by_address[self._address]
        self._handler.connection_lost(exc)
