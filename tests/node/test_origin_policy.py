"""The node against a hostile coordinator: only the assigned origin, only media, bounded.

A coordinator names each stream's origin; the relay re-serves what it pulls to anyone. These
tests set up what the outside review showed: an "internal service" the friend's machine can
reach (here on 127.0.0.2) and an origin (127.0.0.1) whose playlists, redirects and segments try
to make the relay fetch and republish it.
"""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from desktop_app.core.errors import OriginRefused
from desktop_app.core.relay.media import media_kind
from desktop_app.core.relay.origin_policy import OriginPolicy
from desktop_app.core.relay.relay import MAX_STREAMS
from tests.node.helpers import running_relay, wait_segments, wait_until

TS = b"".join(b"\x47" + bytes([i]) * 187 for i in range(4))  # four MPEG-TS packets
SECRET = b'{"internal": "admin answer", "token": "s3cr3t"}'

Handler = Callable[[web.Request], web.StreamResponse]


@asynccontextmanager
async def serve(host: str, routes: dict[str, Handler]) -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTP server on `host`, port 0; yields its base URL and the paths it was asked for."""
    hits: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        hits.append(request.path_qs)
        return await handler(request)

    app = web.Application(middlewares=[record])
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    try:
        yield f"http://{host}:{runner.addresses[0][1]}", hits
    finally:
        await runner.cleanup()


def playlist(*uris: str, sequence: int = 0) -> web.Response:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1"]
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{sequence}")
    for uri in uris:
        lines += ["#EXTINF:1.0,", uri]
    return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")


@asynccontextmanager
async def internal_service() -> AsyncIterator[tuple[str, list[str]]]:
    """What the friend's machine reaches and the internet must not: answers anything."""

    async def anything(request: web.Request) -> web.Response:
        if request.path.endswith(".m3u8"):
            return playlist("/secret.mp4")
        return web.Response(body=SECRET, content_type="application/json")

    async with serve("127.0.0.2", {"/{tail:.*}": anything}) as found:
        yield found


async def _relayed(relay, stream: str = "demo") -> list[bytes]:
    puller = relay.pullers.get(stream)
    if puller is None:
        return []
    return [s.data for r in puller.renditions for s in r.window._segments]


async def test_playlist_naming_another_host_is_not_fetched_nor_served(caplog) -> None:
    caplog.set_level(logging.WARNING)
    async with internal_service() as (internal, internal_hits):

        async def media(request: web.Request) -> web.Response:
            return playlist(f"{internal}/secret.mp4", f"{internal}/other.ts")

        async with (
            serve("127.0.0.1", {"/live/demo.m3u8": media}) as (origin, _),
            running_relay({"demo": f"{origin}/live/demo.m3u8"}) as relay,
            httpx.AsyncClient() as client,
        ):
            await wait_until(lambda: "only http://127.0.0.1" in caplog.text, 10)
            answer = await client.get(f"http://127.0.0.1:{relay.port}/live/demo.m3u8")
            assert answer.status_code == 404
            assert await _relayed(relay) == []
    assert internal_hits == []


async def test_a_redirect_to_another_host_is_refused(caplog) -> None:
    caplog.set_level(logging.WARNING)
    async with internal_service() as (internal, internal_hits):

        async def moved(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{internal}/live/demo.m3u8")

        async with (
            serve("127.0.0.1", {"/live/demo.m3u8": moved}) as (origin, origin_hits),
            running_relay({"demo": f"{origin}/live/demo.m3u8"}) as relay,
        ):
            await wait_until(lambda: "refused to fetch" in caplog.text, 10)
            assert origin_hits and await _relayed(relay) == []
    assert internal_hits == []


async def test_a_non_media_segment_is_refused_whatever_its_extension(caplog) -> None:
    caplog.set_level(logging.WARNING)

    async def media(request: web.Request) -> web.Response:
        return playlist("/status.mp4", "/page.ts", "/note.aac")

    async def not_media(request: web.Request) -> web.Response:
        return web.Response(body=SECRET, content_type="video/mp4")

    routes = {"/live/demo.m3u8": media, "/{name}": not_media}
    async with (
        serve("127.0.0.1", routes) as (origin, hits),
        running_relay({"demo": f"{origin}/live/demo.m3u8"}) as relay,
        httpx.AsyncClient() as client,
    ):
        await wait_until(lambda: "/status.mp4" in hits, 10)
        await wait_until(lambda: "does not look like media" in caplog.text, 10)
        assert await _relayed(relay) == []
        answer = await client.get(f"http://127.0.0.1:{relay.port}/live/demo.m3u8")
        assert answer.status_code == 404


async def test_same_origin_redirects_and_real_media_are_relayed() -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/real/demo.m3u8")

    async def media(request: web.Request) -> web.Response:
        return playlist("/seg/0.ts", "/seg/1.m4s", sequence=0)

    async def segment(request: web.Request) -> web.Response:
        if request.match_info["name"] == "1.m4s":
            box = (16).to_bytes(4, "big") + b"styp" + b"msdh\x00\x00\x00\x00"
            return web.Response(body=box + (8).to_bytes(4, "big") + b"moof")
        return web.Response(body=TS, content_type="video/mp2t")

    routes = {"/live/demo.m3u8": moved, "/real/demo.m3u8": media, "/seg/{name}": segment}
    async with (
        serve("127.0.0.1", routes) as (origin, _),
        running_relay({"demo": f"{origin}/live/demo.m3u8"}) as relay,
        httpx.AsyncClient() as client,
    ):
        await wait_segments(client, f"http://127.0.0.1:{relay.port}/live/demo.m3u8", 2)
        assert TS in await _relayed(relay)


async def test_origins_that_are_not_http_are_not_relayed(caplog) -> None:
    caplog.set_level(logging.WARNING)
    streams = {
        "files": "file:///etc/passwd",
        "share": "smb://fileserver/share/x.m3u8",
        "creds": "http://user:pw@example.org/live/x.m3u8",
    }
    async with running_relay(streams) as relay:
        assert relay.pullers == {}
    assert caplog.text.count("not relaying") == 3


async def test_the_relay_takes_at_most_max_streams_with_bounded_windows(caplog) -> None:
    caplog.set_level(logging.WARNING)
    streams = {f"s{i:03d}": f"http://127.0.0.1:9/live/s{i:03d}.m3u8" for i in range(200)}
    async with running_relay(streams) as relay:
        assert len(relay.pullers) == MAX_STREAMS
        total = sum(p.settings.window_max_bytes for p in relay.pullers.values())
        assert total <= 512 << 20
    assert "assigned 200 streams" in caplog.text


async def test_a_public_name_that_resolves_to_an_internal_address_is_refused() -> None:
    name = socket.gethostname()
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(name, 80)
    except OSError:
        pytest.skip("this machine's name does not resolve")
    if not all(i[4][0].startswith("127.") for i in infos):
        pytest.skip("this machine's name does not resolve to loopback only")
    policy = OriginPolicy(f"http://{name}:8080/live/x.m3u8")
    with pytest.raises(OriginRefused, match="internal address"):
        await policy.check_addresses()
    # the literal loopback origin (the host's own test) is allowed
    await OriginPolicy("http://127.0.0.1:8080/live/x.m3u8").check_addresses()


def test_policy_pins_scheme_host_and_port() -> None:
    policy = OriginPolicy("http://origin.example:8080/live/x.m3u8")
    policy.check_url("http://ORIGIN.example:8080/live/x/1.ts?hls_ctx=a")
    for other in (
        "https://origin.example:8080/live/x.m3u8",
        "http://origin.example:8081/live/x.m3u8",
        "http://origin.example/live/x.m3u8",
        "http://169.254.169.254/latest/meta-data",
        "http://origin.example.evil:8080/x.ts",
        "file:///etc/passwd",
    ):
        with pytest.raises(OriginRefused):
            policy.check_url(other)
    assert policy.redirect_target("http://origin.example:8080/a/b.m3u8", "../c.m3u8") == (
        "http://origin.example:8080/c.m3u8"
    )
    assert OriginPolicy("https://origin.example/x").origin == ("https", "origin.example", 443)


def test_media_signatures() -> None:
    assert media_kind(TS) == "ts"
    assert media_kind(b"\x00\x00\x00\x18ftypiso6" + bytes(16)) == "fmp4"
    assert media_kind(b"\xff\xf1\x50\x80\x02\x1f\xfc") == "audio"
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"PRIVx"
    assert media_kind(id3 + b"\xff\xf1\x50\x80") == "audio"
    for junk in (SECRET, b"<html>", b"\x47" + b"x" * 400, b"", b"\x00\x00\x00\x10evil" + bytes(8)):
        assert media_kind(junk) is None, junk
