"""The relay under hostile input: fuzzed playlists, fuzzed raw requests, slowloris, slow viewers.

The relay (the node's real `Relay`) runs in its own thread and event loop in front of a live
ffmpeg origin, as it does inside a node; attackers use raw sockets from many loopback addresses
(Linux routes all of 127.0.0.0/8 to lo, so each "viewer" can have its own address).
"""

import asyncio
import contextlib
import re
import resource
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import m3u8
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_service.demo.origin import LiveOrigin
from desktop_app.core.relay.puller import PullSettings
from desktop_app.core.relay.relay import Relay
from streamr_protocol.hls import (
    HlsError,
    MediaPlaylist,
    RenderedSegment,
    parse_playlist,
    render_media,
)

pytestmark = pytest.mark.slow

# --- the playlist parser -------------------------------------------------------------------------

_ATTR = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=40)
_NUMBER = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    _ATTR,
)
_TAGS = st.one_of(
    _NUMBER.map(lambda n: f"#EXTINF:{n},"),
    st.tuples(_NUMBER, _ATTR).map(lambda t: f"#EXTINF:{t[0]},{t[1]}"),
    _NUMBER.map(lambda n: f"#EXT-X-TARGETDURATION:{n}"),
    _NUMBER.map(lambda n: f"#EXT-X-MEDIA-SEQUENCE:{n}"),
    _NUMBER.map(lambda n: f"#EXT-X-DISCONTINUITY-SEQUENCE:{n}"),
    _ATTR.map(lambda a: f"#EXT-X-PROGRAM-DATE-TIME:{a}"),
    st.tuples(_NUMBER, _ATTR).map(lambda t: f"#EXT-X-STREAM-INF:BANDWIDTH={t[0]},{t[1]}"),
    _ATTR.map(lambda a: f"#EXT-X-STREAM-INF:{a}"),
    _ATTR.map(lambda a: f"#EXT-X-KEY:METHOD={a}"),
    _ATTR.map(lambda a: f"#EXT-X-BYTERANGE:{a}"),
    _ATTR.map(lambda a: f"#EXT-X-MAP:URI={a}"),
    _ATTR.map(lambda a: f"#EXT-X-MEDIA:{a}"),
    st.sampled_from(["#EXT-X-DISCONTINUITY", "#EXT-X-ENDLIST", "#EXT-X-VERSION:3", "#EXTM3U"]),
    _ATTR.map(lambda a: f"#{a}"),
    _ATTR,  # URI lines, or junk
    st.sampled_from(["seg-1.ts", "../../etc/passwd", "http://[::1", "//x/y.ts?a=b", "a b.ts"]),
)
_PLAYLISTS = st.lists(_TAGS, max_size=40).map(lambda lines: "\n".join(["#EXTM3U", *lines]))


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(text=st.one_of(_PLAYLISTS, st.text(max_size=500)))
def test_playlist_parser_takes_any_text_without_crashing(text: str) -> None:
    try:
        parsed = parse_playlist(text, "http://origin.test/live/demo.m3u8?hls_ctx=x")
    except HlsError:  # UnsupportedHls is one too: a clear refusal
        return
    if isinstance(parsed, MediaPlaylist):
        own = [
            RenderedSegment(
                uri=f"{segment.sequence}-0123456789abcdef.ts",
                duration=segment.duration,
                title=segment.title,
                discontinuity=segment.discontinuity,
                program_date_time=segment.program_date_time,
            )
            for segment in parsed.segments
        ]
        rendered = render_media(
            own,
            target_duration=parsed.target_duration,
            media_sequence=parsed.media_sequence,
            discontinuity_sequence=parsed.discontinuity_sequence,
            ended=parsed.ended,
        )
        assert rendered.startswith("#EXTM3U")
        m3u8.loads(rendered)  # what the relay would serve parses again


def test_playlist_parser_memory_is_bounded_by_its_input() -> None:
    import tracemalloc

    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:1", "#EXT-X-MEDIA-SEQUENCE:0"]
    for index in range(20_000):  # ~600 KB: under the puller's 1 MB playlist cap
        lines += ["#EXTINF:1.0,", f"seg-{index}.ts"]
    text = "\n".join(lines)
    tracemalloc.start()
    try:
        parse_playlist(text, "http://origin.test/live/demo.m3u8")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * len(text), f"peak {peak / 1e6:.0f} MB for {len(text) / 1e6:.1f} MB"


# --- a live relay --------------------------------------------------------------------------------


@dataclass
class LiveRelay:
    url: str
    port: int
    segment_path: str
    segment_bytes: bytes
    relay: Relay
    loop: asyncio.AbstractEventLoop


@pytest.fixture(scope="module")
def live_relay() -> Iterator[LiveRelay]:
    """The real relay in its own thread + loop, relaying a live origin's `demo`."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    origin = LiveOrigin(("demo",), srs_master=False)
    relay = Relay(host="127.0.0.1", port=0, settings=PullSettings(grace_s=3.0, backoff_max_s=1.0))

    async def up() -> None:
        await origin.start()
        await relay.start()
        await relay.set_streams({"demo": origin.url("demo")})

    try:
        asyncio.run_coroutine_threadsafe(up(), loop).result(timeout=60)
        url = f"http://127.0.0.1:{relay.port}"
        path, body = _newest_segment(url, wait=30)
        yield LiveRelay(url, relay.port, path, body, relay, loop)
    finally:

        async def down() -> None:
            await relay.stop()
            await origin.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(down(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _newest_segment(url: str, wait: float = 5) -> tuple[str, bytes]:
    deadline = time.monotonic() + wait
    while True:
        try:
            playlist = httpx.get(f"{url}/live/demo.m3u8", timeout=5)
            if playlist.status_code == 200:
                uris = [line for line in playlist.text.splitlines() if line.endswith(".ts")]
                if uris:
                    path = "/live/demo/" + uris[-1].rsplit("/", 1)[-1]
                    segment = httpx.get(url + path, timeout=5)
                    if segment.status_code == 200:
                        return path, segment.content
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the relay at {url} serves no segment")
        time.sleep(0.2)


# --- fuzzed raw requests -------------------------------------------------------------------------

_TOKEN = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-!#$%&'*+.^_`|~", min_size=1)
_PATHS = st.one_of(
    st.sampled_from(
        [
            "/live/demo.m3u8",
            "/live/demo/0.m3u8",
            "/live/demo/../../etc/passwd",
            "/live/%2e%2e/%2e%2e/etc/passwd",
            "/live/demo/1-0123456789abcdef.ts",
            "/live/demo.m3u8?streamr_nonce=" + "a" * 300,
            "//live//demo.m3u8",
            "/",
            "*",
            "/metrics",
            "/live/demo.m3u8%00.txt",
        ]
    ),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=200).map(
        lambda s: "/" + s
    ),
    st.integers(1000, 20000).map(lambda n: "/live/" + "a" * n),
)
_HEADER = st.tuples(
    _TOKEN, st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=100)
)
_REQUESTS = st.one_of(
    st.tuples(
        st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"])
        | _TOKEN,
        _PATHS,
        st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", "FOO"]),
        st.lists(_HEADER, max_size=8) | st.lists(_HEADER, min_size=60, max_size=80),
        st.binary(max_size=300),
    ).map(
        lambda r: (
            (
                f"{r[0]} {r[1]} {r[2]}\r\nHost: relay\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in r[3])
                + "\r\n"
            ).encode()
            + r[4]
        )
    ),
    st.binary(max_size=2000),  # not HTTP at all
)
_STATUS = re.compile(rb"^HTTP/\d\.\d (\d{3}) ")  # aiohttp echoes e.g. HTTP/2.0 in refusals


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(OSError):
            while len(answer) < 1 << 16:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
    return answer


def test_fuzzed_requests_get_4xx_or_a_closed_connection_and_the_relay_keeps_serving(
    live_relay: LiveRelay,
) -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=_REQUESTS)
    def check(payload: bytes) -> None:
        answer = _exchange(live_relay.port, payload)
        match = _STATUS.match(answer)
        if not match:
            assert answer == b"", answer[:200]  # garbage may simply be hung up on
            return
        status = int(match.group(1))
        assert status < 500, answer[:300]
        request_line = payload.split(b"\r\n", 1)[0]
        if status == 200:  # only its own paths, only by GET/HEAD
            method, _, rest = request_line.partition(b" ")
            assert method in (b"GET", b"HEAD"), request_line
            assert rest.startswith(b"/live/demo"), request_line
        assert b"Traceback" not in answer

    check()
    path, body = _newest_segment(live_relay.url)
    assert body
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown < 100_000, f"memory grew by {grown} KB"


# --- slowloris and slow viewers ------------------------------------------------------------------


async def _slowloris(port: int, count: int, stop: asyncio.Event) -> int:
    """Open `count` connections from 127.0.0.66 that send a header line now and then."""
    writers = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=("127.0.0.66", 0)
            )
            writer.write(b"GET /live/demo.m3u8 HTTP/1.1\r\nHost: relay\r\n")
            writers.append(writer)
    while not stop.is_set():
        for writer in writers:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write(b"X-a: b\r\n")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    for writer in writers:
        writer.close()
    return len(writers)


async def _slow_viewer(port: int, address: str, path: str, stop: asyncio.Event) -> int:
    """Fetch a segment through a tiny receive window, reading 512 bytes every half second."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((address, 0))
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
    except OSError:
        sock.close()
        return 0
    writer.write(f"GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n".encode())
    got = 0
    try:
        while not stop.is_set():
            chunk = await asyncio.wait_for(reader.read(512), 5)
            if not chunk:
                break
            got += len(chunk)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()
    return got


async def test_slowloris_and_500_slow_viewers_do_not_stop_the_relay_serving_others(
    live_relay: LiveRelay,
) -> None:
    stop = asyncio.Event()
    viewers = [
        asyncio.create_task(
            _slow_viewer(
                live_relay.port,
                f"127.0.{1 + i // 250}.{1 + i % 250}",
                live_relay.segment_path,
                stop,
            )
        )
        for i in range(500)
    ]
    loris = asyncio.create_task(_slowloris(live_relay.port, 600, stop))
    try:
        await asyncio.sleep(3)  # everyone is connected and stuck
        times = []
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(5):
                started = time.monotonic()
                playlist = await client.get(f"{live_relay.url}/live/demo.m3u8")
                assert playlist.status_code == 200, playlist.text
                uri = [x for x in playlist.text.splitlines() if x.endswith(".ts")][-1]
                segment = await client.get(f"{live_relay.url}/live/demo/{uri.rsplit('/', 1)[-1]}")
                assert segment.status_code == 200
                times.append(time.monotonic() - started)
                await asyncio.sleep(0.3)
        assert max(times) < 3.0, times
    finally:
        stop.set()
        got = await asyncio.gather(*viewers)
        opened = await loris
    assert sum(1 for g in got if g > 0) > 400, "the slow viewers were not being served"
    assert opened > 0


# --- a flapping origin ---------------------------------------------------------------------------


async def test_flapping_origin_never_makes_the_relay_serve_wrong_bytes_and_it_recovers() -> None:
    """The origin flips between offline, errors, junk and fine every few hundred ms."""
    import hashlib
    import random

    from tests.fixtures.origin import live_origin
    from tests.node.helpers import running_relay

    faults = [None, "offline", "segment_500", "not_playlist", "html", None, "huge"]
    rnd = random.Random(7)
    served: dict[str, str] = {}
    async with (
        live_origin("demo") as origin,
        running_relay({"demo": origin.url()}) as relay,
        httpx.AsyncClient(timeout=5) as client,
    ):
        url = f"http://127.0.0.1:{relay.port}/live/demo.m3u8"
        started = time.monotonic()
        statuses: list[int] = []
        originals: set[str] = set()
        while time.monotonic() - started < 8:
            for playlist in origin.media_playlists():
                for segment in playlist.segments:
                    with contextlib.suppress(OSError):
                        data = origin.segment_bytes(segment.uri)
                        originals.add(hashlib.sha256(data).hexdigest())
            origin.fault = rnd.choice(faults)
            for _ in range(3):
                answer = await client.get(url)
                statuses.append(answer.status_code)
                if answer.status_code == 200:
                    for line in answer.text.splitlines():
                        if line.endswith(".ts"):
                            name = line.rsplit("/", 1)[-1]
                            if name not in served:
                                body = await client.get(
                                    f"http://127.0.0.1:{relay.port}/live/demo/{name}"
                                )
                                if body.status_code == 200:
                                    served[name] = hashlib.sha256(body.content).hexdigest()
                await asyncio.sleep(0.1)
        origin.fault = None
        assert all(status in (200, 404) for status in statuses), statuses
        # every segment served is byte for byte one the origin made
        wrong = [name for name, digest in served.items() if digest not in originals]
        assert not wrong, f"{len(wrong)} of {len(served)} segments are not the origin's"
        recovered = time.monotonic()
        newest = None
        while time.monotonic() - recovered < 20:
            answer = await client.get(url)
            if answer.status_code == 200:
                names = [x for x in answer.text.splitlines() if x.endswith(".ts")]
                if newest is not None and names and names[-1] != newest:
                    break
                newest = names[-1] if names else newest
            await asyncio.sleep(0.3)
        else:
            raise AssertionError("the relay did not follow the live stream after the flapping")
    assert served, "nothing was served while the origin flapped"
