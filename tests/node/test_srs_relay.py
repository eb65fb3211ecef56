"""The node's relay in front of the real SRS 6 (host kit srs.conf): ABR and a stale playlist.

Two renditions behind a master playlist file, each behind SRS's own `hls_ctx` step: the node
relays both byte for byte and keeps one SRS session per rendition. After the publisher leaves,
SRS goes on serving its last playlist: the node goes offline once and must not bring those
segments back as new ones.
"""

import asyncio
import hashlib
import time

import httpx
import pytest

from coordinator_service.prober.origin import OriginWatcher
from tests.coordinator.test_srs_origin import served_hashes
from tests.fixtures.srs import needs_srs, srs_origin, srs_publisher
from tests.node.helpers import running_relay, wait_segments, wait_until

pytestmark = [pytest.mark.slow, needs_srs()]


async def test_two_renditions_relayed_byte_for_byte_with_one_srs_session_each() -> None:
    with srs_origin() as srs:
        (srs.html / "live").mkdir()
        (srs.html / "live" / "main.m3u8").write_text(
            "#EXTM3U\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\nmain_hd.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180\nmain_sd.m3u8\n"
        )
        with (
            srs_publisher(srs.rtmp_url("main_hd"), size="640x360", bitrate="600k"),
            srs_publisher(srs.rtmp_url("main_sd"), pattern="smptebars"),
        ):
            async with (
                running_relay({"main": srs.playlist_url("main")}) as relay,
                httpx.AsyncClient(timeout=10) as client,
            ):
                base = f"http://127.0.0.1:{relay.port}/live"
                for index in (0, 1):
                    await wait_segments(client, f"{base}/main/{index}.m3u8", 2, timeout=30)
                master = (await client.get(f"{base}/main.m3u8")).text
                clients = {n: srs.clients(n) for n in ("main_hd", "main_sd")}
                await asyncio.sleep(6)  # the node polls SRS ~4 times a second meanwhile
                later = {n: srs.clients(n) for n in ("main_hd", "main_sd")}
                relayed = set()
                for index in (0, 1):
                    playlist = await wait_segments(client, f"{base}/main/{index}.m3u8", 2)
                    for segment in playlist.segments:
                        body = (await client.get(f"{base}/main/{segment.uri}")).content
                        relayed.add(hashlib.sha256(body).hexdigest())
                served = {}
                for name in ("main_hd", "main_sd"):
                    served |= await served_hashes(client, srs.playlist_url(name))
    print("SRS clients per rendition:", clients, "6 s later:", later)
    assert master.count("#EXT-X-STREAM-INF") == 2 and "RESOLUTION=640x360" in master
    assert later == clients and max(later.values()) <= 2  # the publisher and the node
    assert relayed & set(served), "nothing compared"
    # all but the newest may have left SRS's window already; what both list is identical
    overlap = relayed & set(served)
    assert len(overlap) >= 4, (len(relayed), len(served))


async def test_srs_serving_its_last_playlist_does_not_bring_the_stream_back() -> None:
    with srs_origin() as srs:
        async with (
            running_relay({"main": srs.playlist_url("main")}) as relay,
            httpx.AsyncClient(timeout=10) as client,
        ):
            url = f"http://127.0.0.1:{relay.port}/live/main.m3u8"
            puller = relay.pullers["main"]
            with srs_publisher(srs.rtmp_url("main")):
                await wait_segments(client, url, 2, timeout=30)
            await wait_until(lambda: not puller.live, timeout=30)
            pulled = puller.segments_pulled
            await asyncio.sleep(12)  # longer than stall + grace: the old loop came back here
            assert (await client.get(srs.playlist_url("main"))).status_code == 200
            assert not puller.live and puller.segments_pulled == pulled
            assert (await client.get(url)).status_code == 404
            # a new publish (SRS starts again at main-0.ts) is relayed at once
            with srs_publisher(srs.rtmp_url("main"), pattern="smptebars"):
                await wait_until(lambda: puller.live, timeout=30)
                assert puller.segments_pulled > pulled


async def test_an_expired_hls_ctx_session_is_stepped_again_and_the_stream_goes_on() -> None:
    """SRS answers an expired (here: unknown) session's URL with a master: both readers step."""
    with srs_origin() as srs, srs_publisher(srs.rtmp_url("main")):
        async with (
            running_relay({"main": srs.playlist_url("main")}) as relay,
            httpx.AsyncClient(timeout=10) as client,
        ):
            watcher = OriginWatcher(client)
            url = f"http://127.0.0.1:{relay.port}/live/main.m3u8"
            await wait_segments(client, url, 2, timeout=30)
            index = await watcher.poll("main", srs.playlist_url("main"))
            expired = srs.playlist_url("main") + "?hls_ctx=expired1"
            puller = relay.pullers["main"]
            puller.renditions[0].url = expired
            [cursor] = index.cursors.values()
            cursor.url = expired
            pulled = puller.segments_pulled
            for _ in range(20):
                index = await watcher.poll("main", srs.playlist_url("main"))
                await asyncio.sleep(0.5)
            assert puller.live and puller.segments_pulled > pulled
            assert "hls_ctx=expired1" in puller.renditions[0].url  # SRS's new answer kept
            assert cursor.url.endswith("hls_ctx=expired1") and index.is_live(time.time())
            # the entry URL was not read again: SRS counts the publisher, node, watcher, expired
            assert srs.clients("main") <= 4
