"""The relay as one piece: the pullers of the assigned streams plus the public server."""

import logging
from collections.abc import Callable

import httpx

from desktop_app.core.errors import OriginRefused
from desktop_app.core.events import StreamStat
from desktop_app.core.relay.puller import PullSettings, StreamPuller
from desktop_app.core.relay.server import RelayServer, ServerLimits
from desktop_app.core.tls_trust import trusted_context

__all__ = ["Relay"]

logger = logging.getLogger(__name__)

USER_AGENT = "streamr-node"
MAX_STREAMS = 16
"""At most this many streams are relayed, whatever the coordinator assigns."""
WINDOWS_TOTAL_BYTES = 512 << 20
"""The memory all streams' windows share (each stream also keeps its own PullSettings bound)."""


class Relay:
    """Pull each assigned stream from its origin and serve it on the relay port."""

    def __init__(
        self,
        *,
        host: str = "0.0.0.0",
        port: int = 0,
        upload_cap_mbit: float | None = None,
        probe_key: Callable[[], str | None] = lambda: None,
        relay_url: Callable[[], str | None] = lambda: None,
        settings: PullSettings | None = None,
        limits: ServerLimits | None = None,
        on_live_changed: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.settings = settings or PullSettings()
        self.pullers: dict[str, StreamPuller] = {}
        self.server = RelayServer(
            self.pullers,
            host=host,
            port=port,
            upload_cap_mbit=upload_cap_mbit,
            probe_key=probe_key,
            relay_url=relay_url,
            limits=limits,
        )
        self._on_live_changed = on_live_changed
        self._client: httpx.AsyncClient | None = None
        self._started = False
        self.paused = False

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        """Bind the relay port (raises RelayPortError) and get ready to pull."""
        await self.server.start()
        self._started = True

    def _pull_client(self) -> httpx.AsyncClient:
        """The pullers' shared HTTP client, made when the first stream comes (an idle node
        holds none: issue 17)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, connect=5.0),
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,  # the puller follows same-origin redirects itself
                verify=trusted_context(),
            )
        return self._client

    async def stop(self) -> None:
        await self.set_streams({})
        await self.server.stop()
        self._started = False
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def set_streams(self, wanted: dict[str, str]) -> None:
        """Relay exactly these streams (name → origin playlist URL), at most MAX_STREAMS."""
        if len(wanted) > MAX_STREAMS:
            logger.warning(
                "the coordinator assigned %d streams; relaying the first %d",
                len(wanted),
                MAX_STREAMS,
            )
            wanted = dict(list(wanted.items())[:MAX_STREAMS])
        # a pause and a heartbeat answer may run this at once: each stops what it saw
        for name, puller in list(self.pullers.items()):
            if wanted.get(name) != puller.origin_url or self.paused:
                if self.pullers.get(name) is puller:
                    del self.pullers[name]
                await puller.stop()
                logger.info("stream %s: stopped relaying", name)
        if self.paused or not self._started:
            return
        budget = min(self.settings.window_max_bytes, WINDOWS_TOTAL_BYTES // max(1, len(wanted)))
        for name, url in wanted.items():
            if name not in self.pullers:
                try:
                    puller = StreamPuller(
                        name, url, self._pull_client(), self.settings, self._on_live_changed
                    )
                except OriginRefused as exc:
                    logger.warning("stream %s: not relaying: %s", name, exc)
                    continue
                self.pullers[name] = puller
                puller.start()
                logger.info("stream %s: relaying from %s", name, url)
        for puller in self.pullers.values():
            puller.set_window_budget(budget)

    def stats(self) -> list[StreamStat]:
        """Per stream: live, what is cached, bytes served, viewers."""
        out = []
        for name, puller in self.pullers.items():
            counters = self.server.counters_for(name)
            out.append(
                StreamStat(
                    name=name,
                    live=puller.live,
                    segments_cached=puller.segments_cached,
                    bytes_cached=puller.bytes_cached,
                    bytes_served=counters.bytes_served,
                    viewers=counters.viewers.count(),
                    viewers_served_total=counters.viewers.total,
                )
            )
        return out
