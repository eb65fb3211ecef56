"""Players without content steering (ffmpeg's HLS demuxer, as in ffplay and mpv) play the watch
playlist from its first pathway only, never touching the origin while a relay is eligible: a real
coordinator, a live ffmpeg origin and two real relays."""

import asyncio
import contextlib
import re
import subprocess
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.origin import live_origin
from tests.trust.nodes import BeatingNode

pytestmark = pytest.mark.slow

OPENED = re.compile(r"Opening '([^']+)' for reading")


def _pathways(text: str) -> list[tuple[str, str]]:
    """(pathway id, URI) of each variant of a multivariant playlist, in order."""
    lines = text.splitlines()
    return [
        (re.search(r'PATHWAY-ID="([^"]+)"', line).group(1), lines[i + 1])  # type: ignore[union-attr]
        for i, line in enumerate(lines)
        if line.startswith("#EXT-X-STREAM-INF")
    ]


async def test_ffmpeg_plays_the_watch_playlist_from_its_first_pathway(tmp_path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        origin = await stack.enter_async_context(live_origin("main"))
        coord = await asyncio.to_thread(
            stack.enter_context,
            run_coordinator(
                tmp_path, "--heartbeat-interval", "1", "--probe-interval", "1",
                "--allow-private-relays",
            ),
        )  # fmt: skip
        await asyncio.to_thread(
            coord.admin_post,
            "/api/v1/admin/streams",
            {"name": "main", "origin_url": origin.url("main"), "pool_per_hour_minor": 3600},
        )
        for name in ("Ana", "Ben"):
            node = BeatingNode(coord.url, name)
            stack.push_async_callback(node.close)
            await node.join(await asyncio.to_thread(coord.invite), await node.start_real_relay())
            node.start_beating()
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(120):
                text = (await client.get(f"{coord.url}/watch/main.m3u8")).text
                if len({p for p, _ in _pathways(text)}) == 3:
                    break
                await asyncio.sleep(0.5)
        assert len({p for p, _ in _pathways(text)}) == 3, text

        # ffmpeg reads the coordinator's URL (each run gets its own playlist and pick)
        run = await asyncio.to_thread(
            subprocess.run,
            ["ffmpeg", "-hide_banner", "-loglevel", "verbose", "-i", f"{coord.url}/watch/main.m3u8",
             "-t", "4", "-c", "copy", "-f", "null", "-"],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        opened = OPENED.findall(run.stderr)
        segments = [u for u in opened if urlsplit(u).path.endswith(".ts")]
        origin_host = urlsplit(origin.url("main")).netloc
        assert segments, opened
        hosts = [urlsplit(u).netloc for u in segments]
        # ffmpeg opens the first segments of every variant it is offered: it gets one pathway
        assert len(set(hosts)) == 1 and hosts[0] != origin_host, hosts
        probe = await asyncio.to_thread(
            subprocess.run,
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
             f"{coord.url}/watch/main.m3u8"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert probe.returncode == 0 and "video" in probe.stdout.split(), probe.stderr
