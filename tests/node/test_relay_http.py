"""The relay's own HTTP/1.1 parser: strict limits, keep-alive, pipelining, HEAD, close."""

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from desktop_app.core.relay.server import RelayServer, ServerLimits
from tests.fixtures.origin import live_origin
from tests.node.helpers import running_relay, wait_segments

pytestmark = pytest.mark.asyncio(loop_scope="module")

STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) [A-Z]")
LIMITS = ServerLimits(keepalive_timeout_s=2.0, max_line_size=256, max_headers=8)


@pytest_asyncio.fixture(loop_scope="module")
async def bare() -> AsyncIterator[RelayServer]:
    """A relay server with no streams: every path is a 404."""
    server = RelayServer({}, host="127.0.0.1", limits=LIMITS)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send `request`, half-close, and read everything until the relay hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        writer.write_eof()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


def statuses(answer: bytes) -> list[bytes]:
    return STATUS.findall(answer)


@pytest.mark.parametrize(
    "line",
    [
        b"GET",
        b"GET /live/demo.m3u8",
        b"GET  /live/demo.m3u8 HTTP/1.1",
        b"GET /live/demo.m3u8 HTTP/2.0",
        b"GET /live/demo.m3u8 FOO",
        b"G(T /live/demo.m3u8 HTTP/1.1",
        b"GET /live/\x01demo.m3u8 HTTP/1.1",
        b"GET /live/\xc3\xa9.m3u8 HTTP/1.1",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ],
)
async def test_bad_request_lines_get_400_and_the_connection_closes(bare, line) -> None:
    answer = await exchange(bare.port, line + b"\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert statuses(answer) == [b"400"]  # the request behind it is not answered
    assert b"Connection: close" in answer
    assert b"Server:" not in answer


async def test_a_too_long_request_line_gets_400(bare) -> None:
    answer = await exchange(bare.port, b"GET /" + b"a" * 300 + b" HTTP/1.1\r\n\r\n")
    assert statuses(answer) == [b"400"]


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"x" * 5000 + b"\r\n",
        b"".join(b"X-H%d: v\r\n" % i for i in range(9)),
    ],
)
async def test_too_large_or_too_many_headers_get_431(bare, headers) -> None:
    answer = await exchange(bare.port, b"GET / HTTP/1.1\r\n" + headers + b"\r\n")
    assert statuses(answer) == [b"431"]


async def test_a_head_that_never_ends_gets_431_without_waiting_for_it(bare) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", bare.port)
    try:
        writer.write(b"GET / HTTP/1.1\r\n" + b"X-a: b\r\n" * 10_000)
        answer = await asyncio.wait_for(reader.read(), 5)
    except ConnectionError:
        answer = b""
    finally:
        writer.close()
    assert answer == b"" or statuses(answer) == [b"431"]


async def test_bad_header_lines_get_400(bare) -> None:
    for header in (b"no colon here", b"Bad Name: v", b": empty name"):
        answer = await exchange(bare.port, b"GET / HTTP/1.1\r\n" + header + b"\r\n\r\n")
        assert statuses(answer) == [b"400"], header


async def test_pipelined_requests_are_answered_in_order_on_one_connection(bare) -> None:
    request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\n\r\nHEAD /c HTTP/1.1\r\n\r\n"
    answer = await exchange(bare.port, request * 3)
    assert statuses(answer) == [b"404", b"405", b"404"] * 3
    assert answer.count(b"not found\n") == 3  # HEAD answers carry no body
    assert answer.count(b"method not allowed\n") == 3
    assert b"Allow: GET, HEAD\r\n" in answer
    assert answer.count(b"Access-Control-Allow-Origin: *\r\n") == 9


async def test_connection_close_and_http10_end_the_connection_after_the_answer(bare) -> None:
    for request in (
        b"GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", bare.port)
        try:
            writer.write(request)  # no half-close: the relay hangs up by itself
            answer = await asyncio.wait_for(reader.read(), 5)
        finally:
            writer.close()
        assert statuses(answer) == [b"404"], request
        assert b"Connection: close\r\n" in answer


async def test_http10_keep_alive_is_honoured(bare) -> None:
    request = b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    answer = await exchange(bare.port, request * 2)
    assert statuses(answer) == [b"404", b"404"]
    assert b"Connection: keep-alive\r\n" in answer


async def test_a_request_with_a_body_gets_413_or_405_and_the_connection_closes(bare) -> None:
    answer = await exchange(bare.port, b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
    assert statuses(answer) == [b"413"]
    answer = await exchange(
        bare.port, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    assert statuses(answer) == [b"405"]
    assert b"Connection: close" in answer


async def test_idle_keep_alive_connections_are_closed(bare) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", bare.port)
    try:
        writer.write(b"GET /a HTTP/1.1\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), LIMITS.keepalive_timeout_s + 5)
    finally:
        writer.close()
    assert statuses(answer) == [b"404"]  # then it hung up: read() returned


async def test_playlist_segment_and_head_pipelined_on_a_live_relay() -> None:
    async with live_origin("demo", srs_master=False) as origin:
        async with running_relay({"demo": origin.url()}) as relay:
            base = f"http://127.0.0.1:{relay.port}/live/"
            async with httpx.AsyncClient() as client:
                playlist = await wait_segments(client, base + "demo.m3u8", 1)
                segment = playlist.segments[-1].uri
                expected = (await client.get(base + segment)).content
            path = f"/live/{segment}".encode()
            request = (
                b"GET /live/demo.m3u8 HTTP/1.1\r\n\r\n"
                + b"GET " + path + b" HTTP/1.1\r\n\r\n"
                + b"HEAD " + path + b" HTTP/1.1\r\n\r\n"
                + b"GET " + path + b" HTTP/1.1\r\nConnection: close\r\n\r\n"
            )  # fmt: skip
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            try:
                writer.write(request)
                answer = await asyncio.wait_for(reader.read(), 10)
            finally:
                writer.close()
    assert statuses(answer) == [b"200"] * 4
    assert answer.count(expected) == 2  # two GETs of the segment, the HEAD without its body
    assert answer.count(b"Content-Length: %d\r\n" % len(expected)) == 3
    assert answer.count(b"Content-Type: video/mp2t\r\n") == 3
    assert b"Content-Type: application/vnd.apple.mpegurl\r\n" in answer
    assert answer.endswith(expected)
