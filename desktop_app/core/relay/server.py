"""The public relay: a plain asyncio HTTP/1.1 server of only the node's playlists and segments.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import cast
from urllib.parse import parse_qsl

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
WRITE_SLICE = 128 * 1024  # bytes handed to the transport per write when no upload cap applies


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
        self.ssl_context: ssl.SSLContext | None = None
        self.connections: set[_Connection] = set()
        self._guard = ConnectionGuard(self.limits.max_per_address, self.limits.head_timeout_s)
        self._server: asyncio.Server | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; port 0 picks a free port, read back in `.port`."""
        await self._listen()
        assert self._server is not None
        self.port = int(self._server.sockets[0].getsockname()[1])
        logger.info("relay listening on %s:%d", self.host, self.port)

    async def _listen(self) -> None:
        limits, guard = self.limits, self._guard

        def factory() -> asyncio.Protocol:
            if len(self.connections) >= limits.max_connections and not guard.evict_slowest():
                return Refuse()
            return Gate(guard, lambda: _Connection(self))

        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                factory, self.host, self.port, backlog=256, ssl=self.ssl_context
            )
        except OSError as exc:
            raise RelayPortError(
                f"relay port {self.port} on {self.host} is not usable: {exc.strerror or exc}"
            ) from exc
        if limits.send_buffer_bytes:  # accepted sockets inherit it from the listening socket
            for sock in server.sockets:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, limits.send_buffer_bytes)
        self._server = server

    async def use_tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS from now on (same port); a context already in use reloads in place."""
        if context is self.ssl_context:
            return
        self.ssl_context = context
        if self._server is None:
            return
        self._server.close()  # open connections finish; new ones get TLS
        await self._listen()
        logger.info("relay serving HTTPS on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.abort()
        await asyncio.sleep(0)  # their connection_lost runs

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

    # --- answers -------------------------------------------------------------------------------

    def answer(self, request: "_Request") -> "_Answer":
        """The answer to a GET or HEAD: a playlist, a segment, or a bare 404."""
        route = ROUTE.fullmatch(request.path)
        puller = self.streams.get(route["stream"]) if route is not None else None
        if route is None or puller is None:
            return NOT_FOUND
        answer: _Answer | None
        if route["segment"] or route["variant_segment"]:
            answer = self._segment(
                request, puller, route["variant"], route["segment"] or route["variant_segment"]
            )
        elif route["list"] is None:
            answer = self._playlist(
                request, puller, puller.master_body() if puller.multi else puller.media_body(0)
            )
        elif puller.multi:
            answer = self._playlist(request, puller, puller.media_body(int(route["list"])))
        else:
            answer = None
        return answer if answer is not None else NOT_FOUND

    def _count_viewer(self, request: "_Request", stream: str) -> None:
        agent = request.header(b"user-agent")[:200]
        if request.nonce() is not None or is_local_preview(request.address, agent):
            return
        self.counters_for(stream).viewers.seen(f"{request.address}|{agent}")

    def _playlist(
        self, request: "_Request", puller: StreamPuller, body: bytes | None
    ) -> "_Answer | None":
        if body is None:
            return None
        self._count_viewer(request, puller.name)
        return _Answer(200, PLAYLIST_TYPE, body, PLAYLIST_HEADERS, self.counters_for(puller.name))

    def _segment(
        self, request: "_Request", puller: StreamPuller, variant: str | None, name: str
    ) -> "_Answer | None":
        if (variant is not None) != puller.multi:
            return None
        segment = puller.segment(int(variant or 0), name)
        if segment is None:
            return None
        self._count_viewer(request, puller.name)
        headers = f'Cache-Control: {SEGMENT_CACHE}\r\nETag: "{segment.sha256[:32]}"\r\n'
        key = self._probe_key()
        proof = self._segment_proof(key, segment)
        if proof is not None:
            headers += f"{SEGMENT_PROOF_HEADER}: {proof}\r\n"
        nonce = request.nonce()
        if nonce and key and NONCE.match(nonce):  # an older coordinator's probe
            headers += f"{PROOF_HEADER}: {make_proof(key, nonce, segment.data)}\r\n"
        extension = segment.name[segment.name.rindex(".") :]
        content_type = SEGMENT_TYPES.get(extension, "application/octet-stream")
        counters = self.counters_for(puller.name)
        return _Answer(200, content_type, segment.data, headers, counters)

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


# --- HTTP/1.1 -------------------------------------------------------------------------------------

TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
TARGET = re.compile(rb"[\x21-\x7e]+")
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    431: "Request Header Fields Too Large",
}
PLAYLIST_HEADERS = f"Cache-Control: {PLAYLIST_CACHE}\r\n"
PLAIN_TYPE = "text/plain; charset=utf-8"
PAUSE_READING_BYTES = 64 * 1024  # unparsed requests held while an answer is being written


@dataclass(frozen=True, slots=True)
class _Answer:
    """A response: status, content type, body and the extra header lines."""

    status: int
    content_type: str
    body: bytes
    headers: str = ""
    counters: StreamCounters | None = None  # counts the body's bytes as served


NOT_FOUND = _Answer(404, PLAIN_TYPE, b"not found\n")
NOT_ALLOWED = _Answer(405, PLAIN_TYPE, b"method not allowed\n", "Allow: GET, HEAD\r\n")


class _BadRequest(Exception):
    """A request the relay refuses before routing it (answered, then the connection closes)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.answer = _Answer(status, PLAIN_TYPE, text.encode())


@dataclass(slots=True)
class _Request:
    """A parsed request head."""

    method: bytes
    path: str
    query: bytes
    keep_alive: bool
    http10: bool
    has_body: bool
    headers: dict[bytes, bytes]
    address: str

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1")

    def nonce(self) -> str | None:
        """An older coordinator's probe nonce, if any (most requests have no query)."""
        if not self.query:
            return None
        for key, value in parse_qsl(self.query.decode("latin-1"), keep_blank_values=True):
            if key == NONCE_PARAM:
                return value
        return None


def parse_head(head: bytes, limits: ServerLimits, address: str) -> _Request:
    """Parse a request head (without its final blank line) or raise _BadRequest."""
    lines = head.split(b"\r\n")
    while lines and not lines[0]:  # empty lines before a request are allowed
        del lines[0]
    if not lines:
        raise _BadRequest(400, "bad request line\n")
    line = lines[0]
    if len(line) > limits.max_line_size:
        raise _BadRequest(400, "request line too long\n")
    parts = line.split(b" ")
    if len(parts) != 3 or not TOKEN.fullmatch(parts[0]) or not TARGET.fullmatch(parts[1]):
        raise _BadRequest(400, "bad request line\n")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise _BadRequest(400, "unsupported HTTP version\n")
    if len(lines) - 1 > limits.max_headers:
        raise _BadRequest(431, "too many headers\n")
    headers: dict[bytes, bytes] = {}
    for field_line in lines[1:]:
        if len(field_line) > limits.max_field_size:
            raise _BadRequest(431, "header too long\n")
        name, colon, value = field_line.partition(b":")
        if not colon or not TOKEN.fullmatch(name):
            raise _BadRequest(400, "bad header\n")
        headers[name.lower()] = value.strip(b" \t")
    connection = headers.get(b"connection", b"").lower()
    if version == b"HTTP/1.1":
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection
    length = headers.get(b"content-length", b"0").strip()
    has_body = b"transfer-encoding" in headers or length not in (b"0", b"")
    path, _, query = target.partition(b"?")
    return _Request(
        method,
        path.decode("ascii"),
        query,
        keep_alive,
        version == b"HTTP/1.0",
        has_body,
        headers,
        address,
    )


class _Date:
    """The Date header's value, formatted once a second."""

    second = 0
    value = ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.value = second, formatdate(second, usegmt=True)
        return cls.value


def response_head(answer: _Answer, keep_alive: bool, version_10: bool = False) -> bytes:
    """The status line and headers of `answer` (the CORS header, no Server header)."""
    if not keep_alive:
        connection = "Connection: close\r\n"
    else:
        connection = "Connection: keep-alive\r\n" if version_10 else ""
    return (
        f"HTTP/1.1 {answer.status} {REASONS[answer.status]}\r\n{answer.headers}"
        f"Content-Type: {answer.content_type}\r\nContent-Length: {len(answer.body)}\r\n"
        f"Access-Control-Allow-Origin: *\r\nDate: {_Date.now()}\r\n{connection}\r\n"
    ).encode("latin-1")


class _Connection(asyncio.Protocol):
    """One client's HTTP/1.1 connection: request heads parsed and answered one at a time.

    An answer's body is handed to the transport in slices of the cached bytes (memoryviews, not
    copies) for as long as the kernel takes them; the transport's write buffer limit is 0, so
    it pauses us as soon as a slice does not fit and resumes us when all is sent: the kernel
    paces each viewer, the loop never idles, and an arriving request waits at most one turn.
    The next pipelined request is read only when the previous answer is out; an answer not
    out within `send_timeout_s` (a viewer that stopped reading) drops the connection. Under an
    upload cap the slices go out through the shared token bucket instead (a task per answer).
    """

    def __init__(self, server: RelayServer) -> None:
        self._server = server
        self._limits = server.limits
        self._transport: asyncio.Transport | None = None
        self._address = ""
        self._buffer = bytearray()  # bytes received; requests before `_start` are parsed
        self._start = 0
        self._sending = False  # an answer is being written; the next request waits
        self._paused = False  # the transport holds bytes the kernel has not taken yet
        self._reading = True
        self._eof = False
        self._close_after = False
        self._body: memoryview | None = None
        self._offset = 0
        self._counters: StreamCounters | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()

    # --- transport events ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._transport.set_write_buffer_limits(high=0, low=0)
        peer = self._transport.get_extra_info("peername")
        self._address = str(peer[0]) if peer else ""
        self._server.connections.add(self)
        self._arm(self._limits.keepalive_timeout_s, self._close)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._sending:
            self._process()
        elif self._reading and len(self._buffer) - self._start > PAUSE_READING_BYTES:
            self._reading = False
            self._writer().pause_reading()

    def eof_received(self) -> bool | None:
        self._eof = True
        if not self._sending:
            self._process()
        return self._transport is not None and self._transport.get_extra_info("sslcontext") is None

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drained is not None:
            if not self._drained.done():
                self._drained.set_result(None)
        elif self._sending and self._task is None:
            if self._pump():
                self._process()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._cancel_timer()
        if self._task is not None:
            self._task.cancel()
        self._transport = None
        self._body = None

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    # --- requests ------------------------------------------------------------------------------

    def _writer(self) -> asyncio.Transport:
        assert self._transport is not None
        return self._transport

    def _process(self) -> None:
        """Answer the complete requests received, in order, until one has to wait."""
        limits = self._limits
        buffer = self._buffer
        while not self._sending and self._transport is not None:
            if self._transport.is_closing():
                return
            end = buffer.find(b"\r\n\r\n", self._start)
            if end < 0:
                waiting = len(buffer) - self._start
                if waiting > limits.max_line_size + limits.max_headers * limits.max_field_size:
                    self._refuse(_BadRequest(431, "request head too large\n"))
                elif self._eof:
                    self._writer().close()
                break
            head = bytes(buffer[self._start : end])
            self._start = end + 4
            self._cancel_timer()
            try:
                request = parse_head(head, limits, self._address)
            except _BadRequest as refusal:
                self._refuse(refusal)
                break
            except UnicodeDecodeError:
                self._refuse(_BadRequest(400, "bad request line\n"))
                break
            self._answer(request)
        if self._start >= len(buffer):
            buffer.clear()
            self._start = 0
        elif self._start > PAUSE_READING_BYTES:
            del buffer[: self._start]
            self._start = 0
        if not self._sending and self._transport is not None and not self._transport.is_closing():
            if not self._reading:
                self._reading = True
                self._transport.resume_reading()
            if self._timer is None:
                self._arm(limits.keepalive_timeout_s, self._close)

    def _refuse(self, refusal: _BadRequest) -> None:
        self._close_after = True
        self._send(refusal.answer, head_only=False, keep_alive=False)

    def _answer(self, request: _Request) -> None:
        keep_alive = request.keep_alive and not request.has_body
        if request.method not in (b"GET", b"HEAD"):
            answer = NOT_ALLOWED
        elif request.has_body:
            answer = _Answer(413, PLAIN_TYPE, b"a request body is not accepted here\n")
        else:
            answer = self._server.answer(request)
        self._close_after = not keep_alive
        self._send(answer, request.method == b"HEAD", keep_alive, request.http10)

    def _send(
        self, answer: _Answer, head_only: bool, keep_alive: bool, version_10: bool = False
    ) -> None:
        """Start writing `answer`; `_sending` stays set until it is out."""
        transport = self._writer()
        head = response_head(answer, keep_alive, version_10)
        self._sending = True
        bucket = self._server.bucket
        if head_only or not answer.body:
            transport.write(head)
            self._body = None
        elif answer.counters is None or len(answer.body) <= 16 * 1024 and bucket is None:
            transport.write(head + answer.body)  # small: one send
            if answer.counters is not None:
                answer.counters.bytes_served += len(answer.body)
            self._body = None
        else:
            transport.write(head)
            self._body, self._offset, self._counters = memoryview(answer.body), 0, answer.counters
            if bucket is not None:
                self._task = self._loop.create_task(self._send_capped(bucket))
                self._arm(self._limits.send_timeout_s, self.abort)
                return
        if not self._pump():
            self._arm(self._limits.send_timeout_s, self.abort)

    def _pump(self) -> bool:
        """Write body slices while the kernel takes them; True when the answer is out."""
        body = self._body
        if body is not None:
            transport = self._writer()
            size, offset = len(body), self._offset
            while offset < size and not self._paused:
                transport.write(body[offset : offset + WRITE_SLICE])
                offset += WRITE_SLICE
            assert self._counters is not None
            self._counters.bytes_served += min(offset, size) - self._offset
            self._offset = offset
            if offset < size:
                return False
            self._body = None
        if self._paused:
            return False
        self._finish()
        return True

    async def _send_capped(self, bucket: TokenBucket) -> None:
        """Write the body under the shared upload cap, a chunk at a time."""
        body, counters = self._body, self._counters
        assert body is not None and counters is not None
        step = bucket.chunk_size
        for offset in range(0, len(body), step):
            chunk = body[offset : offset + step]
            await bucket.consume(len(chunk))
            if self._transport is None:
                return
            self._transport.write(chunk)
            counters.bytes_served += len(chunk)
            if self._paused:
                self._drained = self._loop.create_future()
                await self._drained
                self._drained = None
        self._task = None
        self._body = None
        self._finish()
        self._process()

    def _finish(self) -> None:
        """The answer is out: close if asked, else be ready for the next request."""
        self._cancel_timer()
        self._sending = False
        if self._close_after and self._transport is not None:
            self._transport.close()

    # --- timers --------------------------------------------------------------------------------

    def _arm(self, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = self._loop.call_later(delay, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _close(self) -> None:
        """An idle connection, or one whose next request head is too slow: close it."""
        self._timer = None
        if self._transport is not None:
            self._transport.close()
