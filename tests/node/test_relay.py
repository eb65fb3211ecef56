"""The relay against a real ffmpeg origin: SRS shape, same bytes, restarts, outages, garbage."""

import hashlib
import logging

import httpx
import m3u8

from streamr_protocol import (
    NONCE_PARAM,
    PROOF_HEADER,
    SEGMENT_PROOF_HEADER,
    make_proof,
    segment_proof,
    verify_segment_proof,
)
from tests.fixtures.origin import live_origin
from tests.node.helpers import node_playlist, running_relay, wait_segments, wait_until


def node_url(relay, stream: str = "demo") -> str:
    return f"http://127.0.0.1:{relay.port}/live/{stream}.m3u8"


async def fetch_all(client: httpx.AsyncClient, playlist_url: str, playlist: m3u8.M3U8):
    """Fetch every listed segment from the node: [(uri, response)]."""
    out = []
    for segment in playlist.segments:
        out.append((segment.uri, await client.get(httpx.URL(playlist_url).join(segment.uri))))
    return out


async def test_relays_srs_master_shape_with_identical_bytes_and_tags() -> None:
    async with live_origin("demo") as origin, running_relay({"demo": origin.url()}) as relay:
        async with httpx.AsyncClient() as client:
            url = node_url(relay)
            playlist = await wait_segments(client, url, 3)
            response = await client.get(url)
            assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
            assert response.headers["access-control-allow-origin"] == "*"
            assert "no-cache" in response.headers["cache-control"]
            assert "server" not in response.headers
            assert all(s.program_date_time is not None for s in playlist.segments)
            assert playlist.target_duration == 1
            window = relay.pullers["demo"].renditions[0].window
            for uri, got in await fetch_all(client, url, playlist):
                assert got.status_code == 200
                assert got.headers["content-type"] == "video/mp2t"
                assert "immutable" in got.headers["cache-control"]
                cached = window.get(uri.rsplit("/", 1)[-1])
                assert cached is not None and "?hls_ctx=" in cached.origin_uri
                # identical to what the origin served (still on its disk)
                assert got.content == origin.segment_bytes(cached.origin_uri)
                assert hashlib.sha256(got.content).hexdigest()[:16] in uri
        segment_gets = [n for f, n in origin.requests.items() if f.endswith(".ts")]
        assert segment_gets and all(n == 1 for n in segment_gets)


async def test_relays_plain_media_playlist_with_absolute_uris() -> None:
    async with (
        live_origin("plain", srs_master=False, absolute_uris=True) as origin,
        running_relay({"plain": origin.url()}) as relay,
        httpx.AsyncClient() as client,
    ):
        url = node_url(relay, "plain")
        playlist = await wait_segments(client, url, 2)
        for uri, got in await fetch_all(client, url, playlist):
            cached = relay.pullers["plain"].renditions[0].window.get(uri.rsplit("/", 1)[-1])
            assert cached.origin_uri.startswith(origin.base_url)
            assert got.content == cached.data == origin.segment_bytes(cached.origin_uri)


async def test_abr_master_is_relayed_whole_with_every_variant() -> None:
    async with (
        live_origin("abr", abr=True) as origin,
        running_relay({"abr": origin.url()}) as relay,
        httpx.AsyncClient() as client,
    ):
        url = node_url(relay, "abr")
        await wait_until(lambda: relay.pullers["abr"].segments_cached >= 4)
        master = m3u8.loads((await client.get(url)).text)
        assert master.is_variant
        assert [p.uri for p in master.playlists] == ["abr/0.m3u8", "abr/1.m3u8"]
        assert {p.stream_info.resolution for p in master.playlists} == {(320, 180), (160, 90)}
        for variant in master.playlists:
            variant_url = str(httpx.URL(url).join(variant.uri))
            media = await wait_segments(client, variant_url, 2)
            for uri, got in await fetch_all(client, variant_url, media):
                assert got.status_code == 200
                index = int(variant.uri.split("/")[1][0])
                name = uri.rsplit("/", 1)[-1]
                cached = relay.pullers["abr"].renditions[index].window.get(name)
                assert got.content == origin.segment_bytes(cached.origin_uri)


async def test_publisher_restart_reusing_names_never_serves_stale_bytes() -> None:
    async with (
        live_origin("demo", srs_master=False) as origin,
        running_relay({"demo": origin.url()}) as relay,
        httpx.AsyncClient() as client,
    ):
        url = node_url(relay)
        await wait_segments(client, url, 3)
        await origin.wait_segments(4)
        await origin.stop_publisher(remove_playlist=False)
        await origin.start_publisher()  # numbering starts at 0 again: demo-0.ts is reused
        await origin.wait_segments(3)

        async def restarted() -> bool:
            playlist = await node_playlist(client, url)
            return playlist is not None and any(s.discontinuity for s in playlist.segments)

        await wait_until(restarted)
        playlist = await node_playlist(client, url)
        names = [s.uri for s in playlist.segments]
        assert len(set(names)) == len(names)
        after = False
        fetched = await fetch_all(client, url, playlist)
        for segment, (_, got) in zip(playlist.segments, fetched, strict=True):
            after = after or segment.discontinuity
            assert hashlib.sha256(got.content).hexdigest()[:16] in segment.uri
            if after:  # the new publisher's bytes under the reused origin names
                cached = relay.pullers["demo"].renditions[0].window.get(segment.uri.split("/")[-1])
                assert got.content == origin.segment_bytes(cached.origin_uri)


async def test_origin_outage_keeps_window_then_not_live_then_recovers(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="desktop_app.core.relay.puller")
    changes: list[bool] = []
    async with (
        live_origin("demo") as origin,
        running_relay(
            {"demo": origin.url()}, on_live_changed=lambda s, live: changes.append(live)
        ) as relay,
        httpx.AsyncClient() as client,
    ):
        url = node_url(relay)
        await wait_segments(client, url, 2)
        origin.fault = "offline"
        assert (await client.get(url)).status_code == 200  # last window still served
        await wait_until(lambda: not relay.pullers["demo"].live)
        assert (await client.get(url)).status_code == 404
        origin.fault = None
        await wait_segments(client, url, 1)
        assert changes == [True, False, True]
    offline_lines = [r for r in caplog.records if "404" in r.getMessage()]
    assert len(offline_lines) == 1


async def test_nginx_style_removed_playlist_and_endlist_both_end_liveness() -> None:
    async with (
        live_origin("demo", srs_master=False) as origin,
        running_relay({"demo": origin.url()}) as relay,
        httpx.AsyncClient() as client,
    ):
        url = node_url(relay)
        await wait_segments(client, url, 2)
        await origin.stop_publisher(remove_playlist=False)
        ended = await node_playlist(client, url)
        await wait_until(lambda: relay.pullers["demo"].renditions[0].window.ended)
        ended = await node_playlist(client, url)
        assert ended.is_endlist
        await wait_until(lambda: not relay.pullers["demo"].live)
        await origin.start_publisher()
        await wait_until(lambda: relay.pullers["demo"].live)
        await origin.stop_publisher(remove_playlist=True)
        await wait_until(lambda: not relay.pullers["demo"].live)
        assert await node_playlist(client, url) is None


async def test_garbage_from_origin_logs_one_line_and_keeps_serving(caplog) -> None:
    caplog.set_level(logging.INFO, logger="desktop_app.core.relay.puller")
    async with (
        live_origin("demo", srs_master=False) as origin,
        running_relay({"demo": origin.url()}) as relay,
        httpx.AsyncClient() as client,
    ):
        url = node_url(relay)
        for fault in ("not_playlist", "html", "huge", "segment_500"):
            caplog.clear()
            before = await wait_segments(client, url, 2)
            origin.fault = fault
            await wait_until(lambda: any(r.levelname == "WARNING" for r in caplog.records))
            problem = [r for r in caplog.records if r.levelname == "WARNING"][-1].getMessage()
            pulled = relay.pullers["demo"].segments_pulled
            retries = origin.requests["demo.m3u8"]
            await wait_until(lambda n=retries: origin.requests["demo.m3u8"] > n + 3)  # backoff
            during = await node_playlist(client, url)
            assert during is not None and during.media_sequence >= before.media_sequence
            got = await client.get(httpx.URL(url).join(during.segments[-1].uri))
            assert got.status_code == 200
            assert relay.pullers["demo"].segments_pulled == pulled, fault
            same = [r for r in caplog.records if r.getMessage() == problem]
            assert len(same) == 1, [r.getMessage() for r in caplog.records]
            origin.fault = None
            await wait_until(lambda n=pulled: relay.pullers["demo"].segments_pulled > n)
            # the recovery line is logged once the whole poll has been ingested
            await wait_until(lambda: any("fine again" in r.getMessage() for r in caplog.records))


async def test_two_streams_relayed_at_once_and_every_segment_signed_alike() -> None:
    key = "k" * 43
    public = "http://Relay.Example:8430/"
    async with (
        live_origin("one", "two", srs_master=False) as origin,
        running_relay(
            {"one": origin.url("one"), "two": origin.url("two")},
            probe_key=lambda: key,
            relay_url=lambda: public,
        ) as relay,
        httpx.AsyncClient() as client,
    ):
        for name in ("one", "two"):
            url = node_url(relay, name)
            playlist = await wait_segments(client, url, 2)
            segment_url = httpx.URL(url).join(playlist.segments[-1].uri)
            viewer = await client.get(segment_url, headers={"User-Agent": "VLC/3.0.21"})
            proof = viewer.headers[SEGMENT_PROOF_HEADER]
            digest = hashlib.sha256(viewer.content).hexdigest()
            assert proof == segment_proof(key, "http://relay.example:8430", digest)
            assert verify_segment_proof(key, "http://relay.example:8430", viewer.content, proof)
            assert not verify_segment_proof(key, "http://127.0.0.1:8430", viewer.content, proof)
            assert PROOF_HEADER not in viewer.headers
            # an older coordinator's nonce probe still gets its proof, and the same segment proof
            probed = await client.get(segment_url, params={NONCE_PARAM: "abc123"})
            assert probed.headers[PROOF_HEADER] == make_proof(key, "abc123", probed.content)
            assert probed.headers[SEGMENT_PROOF_HEADER] == proof
            cached = relay.pullers[name].segment(0, segment_url.path.rsplit("/", 1)[1])
            assert cached is not None and list(cached.proofs.values()) == [proof]
        stats = {s.name: s for s in relay.stats()}
        assert stats["one"].live and stats["two"].live
        assert stats["one"].segments_cached >= 2 and stats["one"].bytes_served > 0


async def test_a_redirect_to_another_port_is_refused(caplog) -> None:
    """Redirects stay on the assigned origin (scheme, host, port): see test_origin_policy."""
    from aiohttp import web

    async with live_origin("demo", srs_master=False) as origin:

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPFound(origin.url())

        app = web.Application()
        app.router.add_get("/moved/demo.m3u8", redirect)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        moved = f"http://127.0.0.1:{runner.addresses[0][1]}/moved/demo.m3u8"
        try:
            async with running_relay({"demo": moved}) as relay:
                await wait_until(lambda: "refused to fetch" in caplog.text, 10)
                assert relay.pullers["demo"].segments_cached == 0
        finally:
            await runner.cleanup()
        assert not any(path.endswith(".m3u8") for path in origin.requests)
