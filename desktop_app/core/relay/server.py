"""The public relay: an aiohttp server that serves only the node's playlists and segments.

Paths (nothing else answers but a bare 404):
    GET/HEAD /live/{stream}.m3u8                 media playlist (master when several variants)
    GET/HEAD /live/{stream}/{variant}.m3u8            a variant's media playlist
    GET/HEAD /live/{stream}/{segment}                 a segment of a single-variant stream
    GET/HEAD /live/{stream}/{variant}/{segment}       a segment of a variant
Every segment response carries the same `X-Streamr-Segment-Proof` (HMAC of the relay's URL and
the segment's SHA-256, keyed by the probe key; made once per segment): probes and viewers get the
same answer. A `?streamr_nonce=N` query (older coordinators) also gets the older nonce proof.
"""

import asyncio
import logging
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from desktop_app.core.aiohttp_serving import (
    AbstractStreamWriter,
    RawRequestMessage,
    RequestHandler,
    StreamReader,
    web,
)
from desktop_app.core.errors import RelayPortError
from desktop_app.core.relay.guard import ConnectionGuard, Gate, Refuse
from desktop_app.core.relay.preview_agent import PREVIEW_AGENT, is_local_preview
from desktop_app.core.relay.puller import StreamPuller
from desktop_app.core.relay.ratelimit import TokenBucket
from desktop_app.core.relay.window import CachedSegment
from streamr_protocol import (
    NONCE_PARAM,
    PROOF_HEADER,
    SEGMENT_PROOF_HEADER,
    RelayUrlError,
    make_proof,
    segment_proof,
)

__all__ = [
    "PREVIEW_AGENT",
    "RelayServer",
    "ServerLimits",
    "StreamCounters",
    "ViewerTracker",
    "is_local_preview",
]

logger = logging.getLogger(__name__)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPES = {
    ".ts": "video/mp2t",
    ".aac": "audio/aac",
    ".mp3": "audio/mpeg",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
}
STREAM = r"(?P<stream>[A-Za-z0-9_-]{1,64})"
VARIANT = r"[0-9]{1,2}"
SEGMENT = r"[0-9]{1,12}-[0-9a-f]{16}\.(?:ts|aac|mp3|m4s|mp4|m4a)"
# the four paths (module docstring) as one pattern, matched against the raw path: one match per
# request instead of a router's walk over its routes
ROUTE = re.compile(
    rf"/live/{STREAM}(?:\.m3u8|/(?P<list>{VARIANT})\.m3u8|/(?P<segment>{SEGMENT})"
    rf"|/(?P<variant>{VARIANT})/(?P<variant_segment>{SEGMENT}))"
)
NONCE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
PLAYLIST_CACHE = "no-cache, max-age=0"
SEGMENT_CACHE = "public, max-age=3600, immutable"
WRITE_SLICE = 128 * 1024  # bytes one viewer writes per turn when no upload cap applies
SLICES_PER_TURN = 8  # slices written per turn of the event loop, over all viewers


@dataclass
class ServerLimits:
    """Protection knobs of the public relay."""

    max_connections: int = 512
    max_per_address: int = 32  # one household behind NAT needs a few; an attacker gets no more
    head_timeout_s: float = 10.0  # a request head slower than this is dropped (slowloris)
    keepalive_timeout_s: float = 15.0
    send_timeout_s: float = 60.0
    max_line_size: int = 4096
    max_field_size: int = 4096
    max_headers: int = 48
    # bound the kernel send buffer per connection: stalled viewers cannot pin megabytes each
    # (Linux autotunes up to 4 MB); 256 KB still fills a 100 ms path at ~20 Mbit/s
    send_buffer_bytes: int | None = 256 * 1024


class ViewerTracker:
    """Distinct clients (address + user agent) seen in the last `window_s` seconds."""

    def __init__(self, window_s: float = 30.0) -> None:
        self.window_s = window_s
        self._seen: dict[str, float] = {}
        self.total = 0

    def seen(self, key: str) -> None:
        if key not in self._seen:
            self.total += 1
        self._seen[key] = time.monotonic()

    def count(self) -> int:
        cutoff = time.monotonic() - self.window_s
        for key in [k for k, at in self._seen.items() if at < cutoff]:
            del self._seen[key]
        return len(self._seen)


@dataclass
class StreamCounters:
    bytes_served: int = 0
    viewers: ViewerTracker = field(default_factory=ViewerTracker)


class _CappedSite(web.BaseSite):
    """A TCP site that refuses connections beyond a cap."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        limits: ServerLimits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host, self._port, self._cap = host, port, limits.max_connections
        self._send_buffer = limits.send_buffer_bytes
        self._runner_ref = runner
        self._guard = ConnectionGuard(limits.max_per_address, limits.head_timeout_s)

    @property
    def name(self) -> str:
        return f"{'https' if self._ssl_context else 'http'}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner_ref.server
        assert server is not None
        cap = self._cap

        guard = self._guard

        def factory() -> asyncio.Protocol:
            if len(server.connections) >= cap and not guard.evict_slowest():
                return Refuse()
            handler: Callable[[], RequestHandler] = server
            return Gate(guard, handler)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, self._host, self._port, backlog=256, ssl=self._ssl_context
        )
        if self._send_buffer:  # accepted sockets inherit it from the listening socket
            for sock in self._server.sockets:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)


class RelayServer:
    """Serve the streams of `streams` (a live mapping the node updates) to viewers."""

    def __init__(
        self,
        streams: Mapping[str, StreamPuller],
        *,
        host: str = "0.0.0.0",
        port: int = 0,
        upload_cap_mbit: float | None = None,
        probe_key: Callable[[], str | None] = lambda: None,
        relay_url: Callable[[], str | None] = lambda: None,
        limits: ServerLimits | None = None,
    ) -> None:
        self.streams = streams
        self.host = host
        self.port = port
        self.limits = limits or ServerLimits()
        self.bucket = TokenBucket(upload_cap_mbit * 125_000) if upload_cap_mbit else None
        self.counters: dict[str, StreamCounters] = {}
        self._probe_key = probe_key
        self._relay_url = relay_url
        self._runner: web.BaseRunner | None = None
        self._site: _CappedSite | None = None
        self._turns = _TurnTaker(SLICES_PER_TURN)
        self.ssl_context: ssl.SSLContext | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; port 0 picks a free port, read back in `.port`.

        aiohttp's low-level server: no application, router, middlewares or signals per request
        (they cost more CPU than the relay's own work for a playlist); `_handle` routes.
        """
        limits = self.limits
        server = web.Server(
            self._handle,
            request_factory=self._request,
            access_log=None,
            keepalive_timeout=limits.keepalive_timeout_s,
            max_line_size=limits.max_line_size,
            max_field_size=limits.max_field_size,
            max_headers=limits.max_headers,
        )
        self._runner = web.ServerRunner(server)
        await self._runner.setup()
        try:
            await self._listen()
        except RelayPortError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = int(self._runner.addresses[0][1])
        logger.info("relay listening on %s:%d", self.host, self.port)

    async def _listen(self) -> None:
        assert self._runner is not None
        site = _CappedSite(self._runner, self.host, self.port, self.limits, self.ssl_context)
        try:
            await site.start()
        except OSError as exc:
            raise RelayPortError(
                f"relay port {self.port} on {self.host} is not usable: {exc.strerror or exc}"
            ) from exc
        self._site = site

    async def use_tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS from now on (same port); a context already in use reloads in place."""
        if context is self.ssl_context:
            return
        self.ssl_context = context
        if self._runner is None or self._site is None:
            return
        await self._site.stop()  # open connections finish; new ones get TLS
        await self._listen()
        logger.info("relay serving HTTPS on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
        self._turns.stop()

    # --- statistics ----------------------------------------------------------------------------

    def counters_for(self, stream: str) -> StreamCounters:
        counters = self.counters.get(stream)
        if counters is None:
            counters = self.counters[stream] = StreamCounters()
        return counters

    def viewers(self, stream: str) -> int:
        counters = self.counters.get(stream)
        return counters.viewers.count() if counters else 0

    def bytes_served(self, stream: str | None = None) -> int:
        if stream is not None:
            counters = self.counters.get(stream)
            return counters.bytes_served if counters else 0
        return sum(c.bytes_served for c in self.counters.values())

    # --- handlers ----------------------------------------------------------------------------

    def _request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: "asyncio.Task[None]",
    ) -> web.BaseRequest:
        return _RelayRequest(message, payload, protocol, writer, task, asyncio.get_running_loop())

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Route a request; anything but the relay's own paths gets a bare 404 or 405."""
        if request.method not in ("GET", "HEAD"):
            return _plain(405, "method not allowed\n", {"Allow": "GET, HEAD"})
        route = ROUTE.fullmatch(request.rel_url.raw_path)
        puller = self.streams.get(route["stream"]) if route is not None else None
        if route is None or puller is None:
            return _plain(404, "not found\n")
        response: web.StreamResponse | None
        if route["segment"] or route["variant_segment"]:
            response = await self._segment(
                request, puller, route["variant"], route["segment"] or route["variant_segment"]
            )
        elif route["list"] is None:
            response = await self._playlist(
                request, puller, puller.master_body() if puller.multi else puller.media_body(0)
            )
        elif puller.multi:
            response = await self._playlist(request, puller, puller.media_body(int(route["list"])))
        else:
            response = None
        return response if response is not None else _plain(404, "not found\n")

    def _count_viewer(self, request: web.BaseRequest, stream: str) -> None:
        agent = request.headers.get("User-Agent", "")[:200]
        if _nonce(request) is not None or is_local_preview(request.remote, agent):
            return
        self.counters_for(stream).viewers.seen(f"{request.remote}|{agent}")

    async def _playlist(
        self, request: web.BaseRequest, puller: StreamPuller, body: bytes | None
    ) -> web.StreamResponse | None:
        if body is None:
            return None
        self._count_viewer(request, puller.name)
        headers = {"Cache-Control": PLAYLIST_CACHE}
        return await self._send(request, puller.name, body, PLAYLIST_TYPE, headers)

    async def _segment(
        self, request: web.BaseRequest, puller: StreamPuller, variant: str | None, name: str
    ) -> web.StreamResponse | None:
        if (variant is not None) != puller.multi:
            return None
        segment = puller.segment(int(variant or 0), name)
        if segment is None:
            return None
        self._count_viewer(request, puller.name)
        headers = {"Cache-Control": SEGMENT_CACHE, "ETag": f'"{segment.sha256[:32]}"'}
        key = self._probe_key()
        proof = self._segment_proof(key, segment)
        if proof is not None:
            headers[SEGMENT_PROOF_HEADER] = proof
        nonce = _nonce(request)
        if nonce and key and NONCE.match(nonce):  # an older coordinator's probe
            headers[PROOF_HEADER] = make_proof(key, nonce, segment.data)
        extension = segment.name[segment.name.rindex(".") :]
        content_type = SEGMENT_TYPES.get(extension, "application/octet-stream")
        return await self._send(request, puller.name, segment.data, content_type, headers)

    def _segment_proof(self, key: str | None, segment: CachedSegment) -> str | None:
        """Return this relay's proof of the segment, made once per segment and cached with it."""
        url = self._relay_url()
        if not key or not url:
            return None
        cached = segment.proofs.get((key, url))
        if cached is None:
            try:
                cached = segment_proof(key, url, segment.sha256)
            except RelayUrlError:
                return None
            segment.proofs[(key, url)] = cached
        return cached

    async def _send(
        self,
        request: web.BaseRequest,
        stream: str,
        body: bytes,
        content_type: str,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        """Write the body in slices (under the shared upload cap), giving up on viewers that stall.

        Without a cap, the first slice goes out at once and, while other bodies are being sent,
        the others take turns (`_TurnTaker`): one `send` of a whole 500 KB segment took ~0.2 ms
        of CPU, so a request arriving behind 200 of them waited for all of them before its first
        byte (issue 4). The headers go out with the first slice.
        """
        response = _BufferedHeadersResponse(headers=headers)
        response.content_type = content_type
        response.content_length = len(body)
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        counters = self.counters_for(stream)
        bucket = self.bucket
        step = bucket.chunk_size if bucket is not None else WRITE_SLICE
        view = memoryview(body)
        turns = self._turns
        turns.sending += 1
        try:
            # write_eof() drains: a viewer that does not read blocks here, not in memory
            async with asyncio.timeout(self.limits.send_timeout_s):
                for offset in range(0, len(body), step):
                    size = min(step, len(body) - offset)
                    if bucket is not None:
                        await bucket.consume(size)
                    elif offset and turns.sending > 1:  # alone, a body goes out in one go
                        await turns.wait()
                    if offset + step >= len(body):
                        await response.write_eof(body[offset:])  # the whole body: not copied
                    else:
                        await response.write(view[offset : offset + step])
                    counters.bytes_served += size
                await response.write_eof()  # an empty body
        except (TimeoutError, ConnectionError) as exc:
            logger.debug("viewer %s dropped: %s", request.remote, type(exc).__name__)
            if request.transport is not None:
                request.transport.abort()
        finally:
            turns.sending -= 1
        return response


class _TurnTaker:
    """Round robin of body slices: at most `per_turn` viewers write per turn of the loop.

    A new request is handled on the next turn, after at most `per_turn` slices of others.
    Turns are taken only while several bodies are being sent (`sending`): a body sent alone
    goes out without waking the loop between slices.
    """

    def __init__(self, per_turn: int) -> None:
        self._per_turn = per_turn
        self.sending = 0  # bodies being written now
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._pump: asyncio.Task[None] | None = None

    async def wait(self) -> None:
        """Return when it is this viewer's turn to write its next slice."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run(), name="relay-turns")
        await future

    async def _run(self) -> None:
        while self._waiting:
            granted = 0
            while self._waiting and granted < self._per_turn:
                future = self._waiting.popleft()
                if not future.done():  # a viewer gone (timed out, disconnected) has no turn
                    future.set_result(None)
                    granted += 1
            await asyncio.sleep(0)

    def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()


class _BufferedHeadersResponse(web.StreamResponse):
    """A streamed response whose headers are sent with the first body write (one send)."""

    _send_headers_immediately = False


class _RelayRequest(web.BaseRequest):
    """A request whose responses all carry the relay's common headers (and no Server)."""

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers.pop("Server", None)


def _nonce(request: web.BaseRequest) -> str | None:
    """An older coordinator's probe nonce, if any (most requests have no query to parse)."""
    return request.query.get(NONCE_PARAM) if request.rel_url.raw_query_string else None


def _plain(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text, headers=headers)
