"""The test origin behaves like SRS 6: master with hls_ctx, query strings, live segments."""

import httpx
import m3u8

from tests.fixtures.origin import live_origin


async def test_origin_answers_with_srs_master_then_media_playlist_with_queries() -> None:
    async with live_origin("demo") as origin, httpx.AsyncClient() as client:
        first = await client.get(origin.url())
        master = m3u8.loads(first.text)
        assert master.is_variant and len(master.playlists) == 1
        assert "hls_ctx=" in master.playlists[0].uri
        media = await client.get(origin.base_url + master.playlists[0].uri)
        playlist = m3u8.loads(media.text)
        assert len(playlist.segments) >= 2
        assert all("?hls_ctx=" in s.uri for s in playlist.segments)
        segment = await client.get(f"{origin.base_url}/live/{playlist.segments[0].uri}")
        assert segment.headers["content-type"] == "video/mp2t"
        assert segment.content[:1] == b"\x47"
