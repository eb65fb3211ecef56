"""Run the node core on its own asyncio loop and thread; Qt-free.

Why not on the Qt thread through qasync: cancelling the core's httpx calls (anyio underneath)
while qasync drives the loop can leave anyio re-delivering the cancellation forever, so Quit
hung now and then. On a plain asyncio loop the core stops cleanly, and the relay's serving never
waits for painting. The UI still awaits every core call (`await core.run(...)` inside async slots)
and receives the core's events as queued Qt signals.
"""

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from desktop_app.core.events import NodeEvent
from desktop_app.core.node import Node
from desktop_app.core.portmap import PortMapping, map_port
from streamr_protocol.models import NodeEarningsResponse, ReachabilityResponse

__all__ = ["CoreThread", "ThreadedNode"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
SNAPSHOT_TIMEOUT_S = 2.0


class CoreThread:
    """An asyncio loop running on a daemon thread until `stop`."""

    def __init__(self, name: str = "node-core") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def _submit(self, coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
        """Hand `coro` to the core's loop; once the loop has stopped, close it and refuse."""
        if not self._thread.is_alive() or self.loop.is_closed():
            coro.close()  # never leave a coroutine that was not awaited behind
            raise RuntimeError("the node core has stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the core's loop from another loop (the Qt one)."""
        return await asyncio.wrap_future(self._submit(coro))

    def call(self, function: Callable[[], T], timeout: float = SNAPSHOT_TIMEOUT_S) -> T:
        """Run a quick synchronous `function` on the core's thread and return its result."""

        async def wrapper() -> T:
            return function()

        return self._submit(wrapper()).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait for the thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)


class ThreadedNode:
    """A core Node living on a CoreThread, with the interface the controller expects."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.core = CoreThread()

    @property
    def identity(self) -> Any:
        """The node's identity once joined."""
        return self.node.identity

    def subscribe(self, listener: Callable[[NodeEvent], None]) -> Callable[[], None]:
        """Listeners run on the core's thread: the bridge turns them into queued signals."""
        return self.node.subscribe(listener)

    def set_unsupported(self, names: Iterable[str]) -> None:
        """Streams the friend unticked (read by the core thread at its next heartbeat)."""
        self.node.set_unsupported(names)

    async def start(self) -> None:
        await self.core.run(self.node.start())

    async def stop(self) -> None:
        try:
            await self.core.run(self.node.stop())
        finally:
            self.core.stop()

    async def pause(self) -> None:
        await self.core.run(self.node.pause())

    async def resume(self) -> None:
        await self.core.run(self.node.resume())

    def snapshot(self) -> Any:
        return self.core.call(self.node.snapshot)

    async def earnings_details(self) -> NodeEarningsResponse | None:
        return await self.core.run(self.node.earnings_details())

    async def check_reachability(self) -> ReachabilityResponse:
        return await self.core.run(self.node.check_reachability())

    async def leave(self) -> None:
        await self.core.run(self.node.leave())

    async def update_profile(self, display_name: str, payout_handle: str) -> None:
        await self.core.run(self.node.update_profile(display_name, payout_handle))

    async def open_port(self) -> PortMapping:
        """Ask the router (UPnP) to let viewers in on the relay port."""
        port = self.node.relay_port or self.node.config.relay_port

        async def mapped() -> PortMapping:
            return await asyncio.to_thread(map_port, port)

        return await self.core.run(mapped())
