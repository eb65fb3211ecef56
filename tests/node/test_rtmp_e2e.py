"""End to end: ffmpeg → RTMP → nginx-rtmp HLS → the node's relay → ffprobe reads it."""

import asyncio
import json
import shutil

import httpx
import pytest

from tests.fixtures.rtmp import nginx_rtmp, nginx_rtmp_available, rtmp_publisher
from tests.node.helpers import running_relay, wait_segments, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not nginx_rtmp_available(), reason="needs nginx + libnginx-mod-rtmp"),
]
FFPROBE = shutil.which("ffprobe") or "/usr/bin/ffprobe"


async def ffprobe(url: str) -> dict:
    probe = await asyncio.create_subprocess_exec(
        FFPROBE, "-v", "error", "-rw_timeout", "10000000",
        "-show_entries", "stream=codec_type,codec_name,width,height", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(probe.communicate(), 60)
    assert probe.returncode == 0, err.decode()
    return {s["codec_type"]: s for s in json.loads(out)["streams"]}


async def test_rtmp_ingest_relayed_byte_identical_and_playable_by_ffprobe() -> None:
    with nginx_rtmp() as ingest:
        publisher = rtmp_publisher(ingest.rtmp_url("demo"))
        publisher.__enter__()
        try:
            await wait_until(lambda: ingest.segment_file("demo.m3u8").exists(), timeout=30)
            async with (
                running_relay({"demo": ingest.playlist_url("demo")}) as relay,
                httpx.AsyncClient() as client,
            ):
                url = f"http://127.0.0.1:{relay.port}/live/demo.m3u8"
                playlist = await wait_segments(client, url, 3, timeout=30)
                window = relay.pullers["demo"].renditions[0].window
                compared = 0
                for segment in playlist.segments:
                    got = await client.get(httpx.URL(url).join(segment.uri))
                    cached = window.get(segment.uri.rsplit("/", 1)[-1])
                    assert got.content == cached.data
                    on_disk = ingest.segment_file(cached.origin_uri)
                    if on_disk.exists():  # nginx may have cleaned the oldest already
                        assert got.content == on_disk.read_bytes()
                        compared += 1
                assert compared >= 2

                streams = await ffprobe(url)
                assert streams["video"]["codec_name"] == "h264"
                assert (streams["video"]["width"], streams["video"]["height"]) == (320, 180)
                assert streams["audio"]["codec_name"] == "aac"
                assert relay.server.viewers("demo") >= 1

                # the publisher leaves: nginx-rtmp deletes the playlist and writes no ENDLIST
                publisher.__exit__(None, None, None)
                await wait_until(lambda: not relay.pullers["demo"].live, timeout=30)
                assert (await client.get(url)).status_code == 404
        finally:
            publisher.__exit__(None, None, None)
