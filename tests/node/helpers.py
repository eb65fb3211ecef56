"""Helpers for the node tests: an in-process relay and polling waits."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import m3u8

from desktop_app.core.relay.puller import PullSettings
from desktop_app.core.relay.relay import Relay

FAST = PullSettings(grace_s=3.0, backoff_initial_s=0.2, backoff_max_s=1.0)


@asynccontextmanager
async def running_relay(streams: dict[str, str], **options: Any) -> AsyncIterator[Relay]:
    """Start a relay on 127.0.0.1, port 0, relaying `streams`; always stopped."""
    options.setdefault("settings", FAST)
    relay = Relay(host="127.0.0.1", port=0, **options)
    await relay.start()
    try:
        await relay.set_streams(streams)
        yield relay
    finally:
        await relay.stop()


async def wait_until(check: Callable[[], Awaitable[bool] | bool], timeout: float = 15.0) -> None:
    """Poll `check` until it is true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


async def node_playlist(client: httpx.AsyncClient, url: str) -> m3u8.M3U8 | None:
    """Fetch and parse a playlist from the node; None when it answers 404."""
    response = await client.get(url)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return m3u8.loads(response.text)


async def wait_segments(client: httpx.AsyncClient, url: str, count: int, timeout: float = 15.0):
    """Wait until the node lists at least `count` segments; return the playlist."""
    found: list[m3u8.M3U8] = []

    async def ready() -> bool:
        playlist = await node_playlist(client, url)
        if playlist is not None and len(playlist.segments) >= count:
            found.append(playlist)
            return True
        return False

    await wait_until(ready, timeout)
    return found[-1]
