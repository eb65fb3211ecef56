"""One probe against real relays in front of a live ffmpeg origin: every reason, honestly."""

import asyncio
import hashlib
import random
import time

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from coordinator_service.prober.origin import OriginWatcher
from coordinator_service.prober.probe import (
    ProbeConfig,
    ProbeTarget,
    is_public_address,
    probe_node,
)
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


async def run_probe(watched, origin, relay_url, key=KEY, config=LOOPBACK):
    client, watcher = watched

    async def refresh():
        return await watcher.poll("main", origin.url("main"))

    index = await refresh()
    target = ProbeTarget("n1", relay_url, key, "main")
    return await probe_node(client, target, index, refresh, config, random.Random(1))


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
