"""The public relay refuses everything but its paths, resists slow clients, holds the cap."""

import asyncio
import socket
import time

import httpx
import pytest
import pytest_asyncio

from desktop_app.core.relay.server import PREVIEW_AGENT, ServerLimits, is_local_preview
from tests.fixtures.origin import live_origin
from tests.node.helpers import running_relay, wait_segments

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = ServerLimits(max_connections=8, keepalive_timeout_s=1.0, send_timeout_s=1.5)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def origin_url():
    async with live_origin("demo", srs_master=False) as origin:
        yield origin.url()


@pytest_asyncio.fixture(loop_scope="module")
async def relay(origin_url):
    async with running_relay({"demo": origin_url}, limits=LIMITS) as relay:
        async with httpx.AsyncClient() as client:
            await wait_segments(client, f"http://127.0.0.1:{relay.port}/live/demo.m3u8", 2)
        yield relay


async def newest_segment_url(client, port: int) -> str:
    url = f"http://127.0.0.1:{port}/live/demo.m3u8"
    playlist = await wait_segments(client, url, 1)
    return str(httpx.URL(url).join(playlist.segments[-1].uri))


async def raw(port: int, request: bytes, read_timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), read_timeout)
    finally:
        writer.close()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/live/",
        "/live/other.m3u8",
        "/live/demo.ts",
        "/live/demo/0.m3u8",
        "/live/demo/0-0000000000000000.ts",
        "/live/../etc/passwd",
        "/live/%2e%2e/%2e%2e/etc/passwd",
        "/live/demo/..%2f..%2fetc%2fpasswd",
        "/metrics",
        "/status",
    ],
)
async def test_other_paths_get_a_bare_404(relay, path) -> None:
    answer = await raw(relay.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404")
    assert body == b"not found\n"
    assert b"Server:" not in head


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"])
async def test_methods_other_than_get_and_head_are_refused(relay, method) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.request(method, f"http://127.0.0.1:{relay.port}/live/demo.m3u8")
    assert response.status_code == 405


async def test_head_answers_headers_without_body(relay) -> None:
    async with httpx.AsyncClient() as client:
        url = await newest_segment_url(client, relay.port)
        got = await client.get(url)
        head = await client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(got.content)


async def test_oversized_headers_are_refused(relay) -> None:
    huge = "x" * 10_000
    answer = await raw(
        relay.port, f"GET /live/demo.m3u8 HTTP/1.1\r\nX-Big: {huge}\r\n\r\n".encode()
    )
    assert answer.split(b" ")[1] in (b"400", b"431")
    many = "".join(f"X-H{i}: v\r\n" for i in range(200))
    answer = await raw(relay.port, f"GET /live/demo.m3u8 HTTP/1.1\r\n{many}\r\n".encode())
    assert answer.split(b" ")[1] in (b"400", b"431")


async def test_slowloris_is_disconnected_after_the_timeout(relay) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
    start = time.monotonic()
    writer.write(b"GET /live/demo.m3u8 HTTP/1.1\r\nHost: x\r\n")
    try:
        for _ in range(40):  # one header line every 0.2 s, never finishing
            await asyncio.sleep(0.2)
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
            if reader.at_eof():
                break
        assert await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionError:
        pass
    finally:
        writer.close()
    assert time.monotonic() - start < 4


async def non_reader(
    port: int, request: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A viewer with a tiny receive window that sends `request` and does not read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(request)
    return reader, writer


async def received_after_send_timeout(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> int:
    """Wait past the send timeout, then read what the relay still delivers."""
    await asyncio.sleep(LIMITS.send_timeout_s + 1.0)
    received = 0
    try:
        while chunk := await asyncio.wait_for(reader.read(1 << 20), 5):
            received += len(chunk)
    except ConnectionError:
        pass
    writer.close()
    return received


async def test_slow_viewer_is_dropped_and_others_are_served(relay) -> None:
    async with httpx.AsyncClient() as client:
        url = httpx.URL(await newest_segment_url(client, relay.port))
        # asks for 20 MB and never reads
        request = f"GET {url.raw_path.decode()} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        reader, writer = await non_reader(relay.port, request * 400)
        start = time.monotonic()
        for _ in range(5):
            fast = await client.get(url)
            assert fast.status_code == 200
        assert time.monotonic() - start < 1.0
        received = await received_after_send_timeout(reader, writer)
        assert received < 400 * len(fast.content) / 2


async def test_viewer_piling_up_playlist_requests_without_reading_is_dropped(relay) -> None:
    async with httpx.AsyncClient() as client:
        playlist = await client.get(f"http://127.0.0.1:{relay.port}/live/demo.m3u8")
    asked = 20_000  # far more answers than kernel and transport buffers hold
    request = b"GET /live/demo.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n"
    received = await received_after_send_timeout(*await non_reader(relay.port, request * asked))
    assert received < asked * len(playlist.content) / 2  # its connection was cut, not served


async def test_connections_beyond_the_cap_get_503(relay) -> None:
    held = [await asyncio.open_connection("127.0.0.1", relay.port) for _ in range(8)]
    for _, writer in held:  # viewers that asked for something (head-less ones may be evicted)
        writer.write(b"GET /live/demo.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        await asyncio.sleep(0.3)
        answer = await raw(relay.port, b"GET /live/demo.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503")
    finally:
        for _, writer in held:
            writer.close()
    await asyncio.sleep(0.2)
    answer = await raw(relay.port, b"GET /live/demo.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


async def test_viewers_counted_by_client_and_probes_not_counted(relay) -> None:
    async with httpx.AsyncClient(headers={"User-Agent": "player-a"}) as client:
        segment = await newest_segment_url(client, relay.port)
    before = relay.server.viewers("demo")  # player-a and the fixture's client
    for agent in ("player-a", "player-b", "player-a"):
        async with httpx.AsyncClient(headers={"User-Agent": agent}) as client:
            await client.get(segment)
    async with httpx.AsyncClient(headers={"User-Agent": "prober"}) as client:
        await client.get(segment, params={"streamr_nonce": "n1"})
    assert relay.server.viewers("demo") == before + 1


async def test_the_friends_own_preview_on_loopback_is_not_a_viewer(relay) -> None:
    async with httpx.AsyncClient(headers={"User-Agent": "player-c"}) as client:
        segment = await newest_segment_url(client, relay.port)
    before = relay.server.viewers("demo")
    async with httpx.AsyncClient(headers={"User-Agent": f"{PREVIEW_AGENT} LibVLC/3"}) as client:
        assert (await client.get(segment)).status_code == 200
    assert relay.server.viewers("demo") == before
    assert is_local_preview("127.0.0.1", PREVIEW_AGENT)
    assert not is_local_preview("203.0.113.7", PREVIEW_AGENT)  # from outside: a viewer
    assert not is_local_preview("127.0.0.1", "VLC/3.0.18 LibVLC/3.0.18")


async def test_upload_cap_is_held_across_viewers_fairly(origin_url) -> None:
    cap_mbit = 8.0  # 1 MB/s
    async with running_relay({"demo": origin_url}, upload_cap_mbit=cap_mbit) as relay:
        async with httpx.AsyncClient(timeout=30) as client:
            url = await newest_segment_url(client, relay.port)
        per_viewer = [0] * 4
        warmup, duration = 1.0, 3.0
        start = time.monotonic() + warmup  # the bucket's initial burst goes by unmeasured
        end = start + duration

        async def viewer(index: int) -> None:
            async with httpx.AsyncClient(timeout=30) as client:
                while time.monotonic() < end:
                    async with client.stream("GET", url) as response:
                        async for chunk in response.aiter_raw():
                            now = time.monotonic()
                            if now >= end:
                                break
                            if now >= start:
                                per_viewer[index] += len(chunk)

        await asyncio.gather(*(viewer(i) for i in range(4)))
        rate = sum(per_viewer) / duration
    assert rate == pytest.approx(cap_mbit * 125_000, rel=0.10)
    mean = sum(per_viewer) / 4
    assert all(abs(n - mean) < 0.25 * mean for n in per_viewer), per_viewer
