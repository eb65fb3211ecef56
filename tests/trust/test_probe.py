"""One probe against real relays in front of a live ffmpeg origin: every reason, honestly."""

import asyncio
import contextlib
import hashlib
import random
import threading
import time

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from coordinator_service.prober import probe as probe_module
from coordinator_service.prober.origin import OriginWatcher
from coordinator_service.prober.players import PLAYERS
from coordinator_service.prober.probe import (
    MAX_PLAYLIST_BYTES,
    ProbeConfig,
    ProbeTarget,
    is_public_address,
    probe_node,
)
from coordinator_service.prober.reputation import Reputation
from tests.fixtures.net import free_port
from tests.fixtures.origin import live_origin
from tests.trust.relays import MirrorRelay

pytestmark = pytest.mark.asyncio(loop_scope="module")
KEY = "k" * 32
LOOPBACK = ProbeConfig(allow_private=True, timeout_s=5)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def origin():
    async with live_origin("main", "other") as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def watched(origin):
    async with httpx.AsyncClient(timeout=5) as client:
        watcher = OriginWatcher(client)
        # the first poll only learns the playlist (it may be an old one): live once it grows
        index = await watcher.poll("main", origin.url("main"))
        for _ in range(50):
            if index.is_live(time.time()):
                break
            await asyncio.sleep(0.2)
            index = await watcher.poll("main", origin.url("main"))
        yield client, watcher


async def run_probe(watched, origin, relay_url, key=KEY, config=LOOPBACK, seed=1):
    client, watcher = watched

    async def refresh():
        return await watcher.poll("main", origin.url("main"))

    index = await refresh()
    target = ProbeTarget("n1", relay_url, key, "main")
    return await probe_node(client, target, index, refresh, config, random.Random(seed))


async def test_watcher_indexes_origin_segments_and_sees_the_stream_live(watched, origin):
    _, watcher = watched
    index = watcher.indexes["main"]
    assert len(index.recent) >= 2
    assert index.is_live(time.time())
    newest = origin.media_playlists("main")[0].segments[-1].uri
    digest = next(reversed(index.recent.values())).sha256
    assert hashlib.sha256(origin.segment_bytes(newest, "main")).hexdigest() == digest


async def test_honest_relay_passes(watched, origin):
    async with MirrorRelay(origin.base_url, KEY) as relay:
        outcome = await run_probe(watched, origin, relay.url)
    assert (outcome.reason, outcome.detail) == ("ok", "")
    assert outcome.latency_ms is not None


async def test_heartbeats_without_a_relay_are_refused_or_no_relay(watched, origin):
    refused = await run_probe(watched, origin, f"http://127.0.0.1:{free_port()}")
    assert refused.reason == "refused"
    assert (await run_probe(watched, origin, "")).reason == "no_relay"
    assert (await run_probe(watched, origin, "ftp://x")).reason == "no_relay"


async def test_corrupt_bytes_are_a_hash_mismatch(watched, origin):
    async with MirrorRelay(origin.base_url, KEY, mode="corrupt") as relay:
        outcome = await run_probe(watched, origin, relay.url)
    assert outcome.reason == "hash_mismatch"


async def test_another_streams_bytes_are_a_hash_mismatch(watched, origin):
    async with MirrorRelay(origin.base_url, KEY, mode="other:other") as relay:
        outcome = await run_probe(watched, origin, relay.url)
    assert outcome.reason == "hash_mismatch"


async def test_a_relay_answering_with_another_nodes_key_is_not_owned(watched, origin):
    async with MirrorRelay(origin.base_url, "someone-else") as relay:
        outcome = await run_probe(watched, origin, relay.url)
    assert outcome.reason == "not_owned"


async def test_a_relay_that_stopped_pulling_is_stale(watched, origin):
    async with MirrorRelay(origin.base_url, KEY, mode="stale") as relay:
        assert (await run_probe(watched, origin, relay.url)).reason == "ok"
        await asyncio.sleep(3.5)
        config = ProbeConfig(allow_private=True, timeout_s=5, stale_after_s=2.5)
        outcome = await run_probe(watched, origin, relay.url, config=config)
    assert outcome.reason == "stale"
    assert outcome.detail.startswith("stale by ")


async def test_private_and_loopback_relays_are_refused_by_default(watched, origin):
    async with MirrorRelay(origin.base_url, KEY) as relay:
        outcome = await run_probe(watched, origin, relay.url, config=ProbeConfig())
        by_name = await run_probe(
            watched, origin, f"http://localhost:{relay.port}", config=ProbeConfig()
        )
    assert (outcome.reason, outcome.detail) == ("private_address", "relay resolves to 127.0.0.1")
    assert by_name.reason == "private_address"
    assert not is_public_address("10.1.2.3") and not is_public_address("169.254.1.1")
    assert not is_public_address("::ffff:192.168.0.1") and is_public_address("93.184.216.34")


async def test_a_probe_looks_like_a_player_no_nonce_nothing_probe_only(watched, origin):
    players = set()
    async with MirrorRelay(origin.base_url, KEY) as relay:
        for seed in range(12):
            relay.seen.clear()
            config = ProbeConfig(
                allow_private=True, timeout_s=5, page_origin="https://watch.example"
            )
            outcome = await run_probe(watched, origin, relay.url, config=config, seed=seed)
            assert outcome.reason == "ok", outcome
            assert outcome.address == f"127.0.0.1:{relay.port}"
            players.add(outcome.player)
            paths = [path for path, _ in relay.seen]
            assert paths[0] == "/live/main.m3u8"
            assert 2 <= len(paths) - 1 <= 3  # two or three consecutive segments after the playlist
            player = next(p for p in PLAYERS if p.name == outcome.player)
            for path, headers in relay.seen:
                assert "?" not in path
                assert headers["User-Agent"] == dict(player.headers)["User-Agent"]
                assert "python-httpx" not in str(headers)
                assert not any(name.lower().startswith("x-") for name in headers)
                if player.browser:
                    assert headers["Origin"] == "https://watch.example"
                else:
                    assert "Origin" not in headers and "Accept-Encoding" not in headers
        assert relay.probe_like_requests == 0
    assert len(players) >= 3


async def test_a_relay_serving_only_old_probe_lookalikes_fails(watched, origin):
    async with MirrorRelay(origin.base_url, KEY, mode="probes-only") as relay:
        outcome = await run_probe(watched, origin, relay.url)
        async with httpx.AsyncClient() as old_probe:  # the old probe's shape still gets served
            old = await old_probe.get(f"{relay.url}/live/main.m3u8?streamr_nonce=x")
    assert old.status_code == 200
    assert (outcome.reason, outcome.detail) == ("http_error", "HTTP 404")


async def test_an_app_older_than_signed_segments_is_outdated_not_a_cheat(watched, origin):
    async with MirrorRelay(origin.base_url, KEY, mode="legacy") as relay:
        outcome = await run_probe(watched, origin, relay.url)
    assert outcome.reason == "outdated"
    assert Reputation().after("outdated") == Reputation()


async def test_a_segment_signed_for_another_url_is_not_owned(watched, origin):
    async with MirrorRelay(origin.base_url, KEY) as relay:
        relay.sign_url = "http://127.0.0.1:1"  # the right key, someone else's relay URL
        outcome = await run_probe(watched, origin, relay.url)
    assert outcome.reason == "not_owned"


async def test_a_huge_playlist_is_read_only_up_to_the_cap_and_parsed_off_the_loop(
    watched, origin, monkeypatch
):
    sent = {"bytes": 0}
    parsed_on: list[str] = []
    real_parse = probe_module.parse_playlist

    def parse(text: str, url: str):
        parsed_on.append(threading.current_thread().name)
        return real_parse(text, url)

    monkeypatch.setattr(probe_module, "parse_playlist", parse)

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-mpegurl"})
        await response.prepare(request)
        chunk = b"#EXTM3U\n" + b"#EXT-X-COMMENT\n" * 4096
        with contextlib.suppress(ConnectionError):
            for _ in range((1 << 20) // len(chunk)):  # 1 MiB, streamed without a length
                await response.write(chunk)
                sent["bytes"] += len(chunk)
        return response

    app = web.Application()
    app.router.add_get("/live/{stream}.m3u8", huge)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        outcome = await run_probe(watched, origin, url)
        async with MirrorRelay(origin.base_url, KEY) as relay:
            assert (await run_probe(watched, origin, relay.url)).ok
    finally:
        await runner.cleanup()
    assert outcome.reason == "http_error"
    assert outcome.detail == f"response larger than {MAX_PLAYLIST_BYTES} bytes"
    assert MAX_PLAYLIST_BYTES == 64 << 10
    assert parsed_on and threading.main_thread().name not in parsed_on


async def test_slow_relays_time_out_within_the_bound(watched, origin):
    async with MirrorRelay(origin.base_url, KEY) as relay:
        relay.delay_s = 2
        started = time.monotonic()
        config = ProbeConfig(allow_private=True, timeout_s=1)
        outcome = await run_probe(watched, origin, relay.url, config=config)
        elapsed = time.monotonic() - started
        relay.delay_s = 0
    assert outcome.reason == "timeout"
    assert elapsed < 2.5


@pytest.mark.parametrize(
    ("handler_body", "expected_detail"),
    [
        ("redirect", "redirect refused"),
        ("huge", "larger than"),
        ("html", "not an HLS playlist"),
        ("outside", "outside itself"),
    ],
)
async def test_misbehaving_relays_fail_with_a_clear_reason(
    watched, origin, handler_body, expected_detail
):
    async def playlist(request: web.Request) -> web.StreamResponse:
        if handler_body == "redirect":
            raise web.HTTPFound(origin.url("main"))
        if handler_body == "huge":
            return web.Response(body=b"#EXTM3U\n" + b"#" * (2 << 20))
        if handler_body == "html":
            return web.Response(text="<html>hi</html>")
        return web.Response(
            text=f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{origin.base_url}/live/x.ts\n"
        )

    app = web.Application()
    app.router.add_get("/live/{stream}.m3u8", playlist)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        outcome = await run_probe(watched, origin, url)
    finally:
        await runner.cleanup()
    assert outcome.reason in ("http_error", "not_owned")
    assert expected_detail in outcome.detail
