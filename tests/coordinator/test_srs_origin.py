"""The coordinator's origin watcher against the real SRS 6 with the host kit's srs.conf.

No hooks here (the poller alone): publisher restarts with short and long gaps and changed
content, SRS still serving its last playlist after the publisher left, two renditions behind a
master playlist, SRS's own client count. Live time is compared with the publish times the test
itself recorded; every segment SRS served must be known to the watcher by its bytes.
"""

import asyncio
import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import m3u8
import pytest
from sqlalchemy import select

from coordinator_service.prober.scheduler import Prober, ProberSettings
from coordinator_service.storage.models import Stream, StreamLiveInterval
from tests.fixtures.srs import SrsOrigin, needs_srs, srs_origin, srs_publisher
from tests.trust.conftest import SessionFactory, open_database

pytestmark = [pytest.mark.slow, needs_srs()]

TARGET = 2.0  # the host kit's hls_fragment


async def media_playlist(client: httpx.AsyncClient, url: str) -> tuple[str, m3u8.M3U8]:
    """Follow SRS's hls_ctx master steps (and a multi-variant master's first variant)."""
    for _ in range(4):
        answer = await client.get(url)
        answer.raise_for_status()
        parsed = m3u8.loads(answer.text, uri=url)
        if not parsed.is_variant:
            return url, parsed
        url = str(httpx.URL(url).join(parsed.playlists[0].uri))
    raise AssertionError(f"{url} never reached a media playlist")


async def served_segments(client: httpx.AsyncClient, url: str) -> dict[str, tuple[int, str]]:
    """Return {sha256: (publishes back, name)} of the playlist SRS serves at `url` right now.

    SRS marks each publish's first segment with a discontinuity: a segment followed by one such
    mark is from the publish before the current one (1 back), and so on.
    """
    url, playlist = await media_playlist(client, url)
    found = {}
    for position, segment in enumerate(playlist.segments):
        body = (await client.get(str(httpx.URL(url).join(segment.uri)))).content
        back = sum(1 for later in playlist.segments[position + 1 :] if later.discontinuity)
        found[hashlib.sha256(body).hexdigest()] = (back, segment.uri.split("?")[0])
    return found


async def served_hashes(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Return {sha256: segment name} of what SRS serves in the playlist at `url` right now."""
    return {sha: name for sha, (_, name) in (await served_segments(client, url)).items()}


async def add_stream(sessions: SessionFactory, name: str, origin: str) -> int:
    async with sessions() as session:
        stream = Stream(
            name=name, origin_url=origin, pool_per_hour_minor=3600, created_at=datetime.now(UTC)
        )
        session.add(stream)
        await session.commit()
        return stream.id


async def live_spans(sessions: SessionFactory, stream_id: int) -> list[tuple[float, float]]:
    """The stream's recorded live intervals (epoch seconds), overlapping ones merged."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(StreamLiveInterval.started_at, StreamLiveInterval.ended_at)
                .where(StreamLiveInterval.stream_id == stream_id)
                .order_by(StreamLiveInterval.started_at)
            )
        ).all()
    merged: list[list[float]] = []
    for start, end in rows:
        s, e = start.replace(tzinfo=UTC).timestamp(), end.replace(tzinfo=UTC).timestamp()
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def transition_errors(
    published: Sequence[tuple[float, float]], live: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Pair each publish span with the live span overlapping it: (start error, end error)."""
    errors = []
    for start, end in published:
        overlapping = [(s, e) for s, e in live if s < end and e > start]
        assert len(overlapping) == 1, f"publish {start:.1f}–{end:.1f}: live spans {live}"
        s, e = overlapping[0]
        errors.append((s - start, e - end))
    return errors


def watching_prober(sessions: SessionFactory) -> Prober:
    """A prober polling origins twice a second (no nodes: it only watches)."""
    settings = ProberSettings(origin_poll_s=0.5, probe_interval_s=1, allow_private_relays=True)
    return Prober(sessions, settings)


async def stream_live(sessions: SessionFactory, stream_id: int) -> bool:
    async with sessions() as session:
        stream = await session.get(Stream, stream_id)
        assert stream is not None
        return stream.live


async def test_host_kit_srs_conf_cuts_the_two_second_segments_its_comments_promise() -> None:
    with srs_origin() as srs, srs_publisher(srs.rtmp_url("main")):
        async with httpx.AsyncClient(timeout=5) as client:
            deadline = time.monotonic() + 45
            while True:
                try:
                    _, playlist = await media_playlist(client, srs.playlist_url("main"))
                    if len(playlist.segments) >= 3:
                        break
                except httpx.HTTPStatusError:
                    pass
                assert time.monotonic() < deadline, "SRS wrote no playlist"
                await asyncio.sleep(0.5)
    durations = [s.duration for s in playlist.segments]
    print("segment durations:", durations)
    assert playlist.target_duration <= 3
    # the first segment may carry the start-up frames; the others are cut on each 2 s keyframe
    assert all(abs(d - TARGET) < 0.1 for d in durations[1:]), durations


# (picture, tone, seconds published, seconds of gap after it): a short gap (SRS keeps the
# source and numbering), then a long one (SRS frees the source: `main-0.ts` again, new bytes)
PLAN = [("testsrc2", 440, 9.0, 1.0), ("smptebars", 880, 9.0, 7.0), ("testsrc", 660, 9.0, 12.0)]


async def publish_plan(
    srs: SrsOrigin, stream: str, client: httpx.AsyncClient
) -> tuple[list[tuple[float, float]], dict[str, tuple[int, str]]]:
    """Publish PLAN; return the publish spans and {sha256: (publish number, name)} SRS served."""
    published = []
    served: dict[str, tuple[int, str]] = {}
    for number, (picture, tone, hold, gap) in enumerate(PLAN):
        start = time.time()
        with srs_publisher(srs.rtmp_url(stream), pattern=picture, tone=tone):
            await asyncio.sleep(hold)
            listed = await served_segments(client, srs.playlist_url(stream))
        end = time.time()
        published.append((start, end))
        served |= {sha: (number - back, name) for sha, (back, name) in listed.items()}
        await asyncio.sleep(gap)
    return published, served


async def test_restarts_unpublish_and_client_count_without_hooks(tmp_path: Path) -> None:
    with srs_origin() as srs:
        async with (
            open_database(f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}") as sessions,
            httpx.AsyncClient(timeout=5) as client,
        ):
            stream_id = await add_stream(sessions, "main", srs.playlist_url("main"))
            prober = watching_prober(sessions)
            await prober.start()
            try:
                published, served = await publish_plan(srs, "main", client)
                clients_after = srs.clients("main")
                # SRS still serves its last playlist (no ENDLIST) though nobody publishes
                _, stale = await media_playlist(client, srs.playlist_url("main"))
                index = prober.watcher.indexes["main"]
                live_now = index.is_live(time.time())
                db_live = await stream_live(sessions, stream_id)
            finally:
                await prober.stop()
            spans = await live_spans(sessions, stream_id)

    errors = transition_errors(published, spans)
    print(
        "live-time error per publish (start s, end s):",
        [(round(a, 2), round(b, 2)) for a, b in errors],
    )
    print("SRS clients at the end (publisher gone, watcher polled ~2/s for 45 s):", clients_after)
    unknown = {name for sha, (_, name) in served.items() if index.lookup(sha) is None}
    assert not unknown, f"segments SRS served that the watcher never hashed: {sorted(unknown)}"
    sessions_of = {}
    for sha, (number, _) in served.items():
        found = index.lookup(sha)
        assert found is not None
        sessions_of.setdefault(number, set()).add(found.session)
    assert [len(s) for s in sessions_of.values()] == [1, 1, 1], sessions_of
    assert len(set.union(*sessions_of.values())) == 3, "each publish is a session of its own"
    assert stale.segments and not stale.is_endlist
    assert not live_now and not db_live, "a playlist that stopped growing is not live"
    for start_error, end_error in errors:
        assert abs(start_error) <= TARGET and abs(end_error) <= TARGET, errors
    # one HLS session kept by the watcher, plus the test's own three reads
    assert clients_after <= 1 + 3 + 1, clients_after


# Once (CI, 2026-11-30) the test passed and then its event loop's close waited forever on a
# leftover task (cause not found: it passes 3 of 3 alone); a short timeout and one rerun keep
# that from costing 300 s and the run.
@pytest.mark.timeout(90)
@pytest.mark.flaky(reruns=1)
async def test_two_renditions_behind_a_master_playlist(tmp_path: Path) -> None:
    with srs_origin() as srs:
        live = srs.html / "live"
        live.mkdir()
        (live / "main.m3u8").write_text(
            "#EXTM3U\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\nmain_hd.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180\nmain_sd.m3u8\n"
        )
        with (
            srs_publisher(srs.rtmp_url("main_hd"), size="640x360", bitrate="600k"),
            srs_publisher(srs.rtmp_url("main_sd"), pattern="smptebars"),
        ):
            async with (
                open_database(f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}") as sessions,
                httpx.AsyncClient(timeout=5) as client,
            ):
                stream_id = await add_stream(sessions, "main", srs.playlist_url("main"))
                prober = Prober(
                    sessions,
                    ProberSettings(
                        origin_poll_s=0.5, probe_interval_s=1, allow_private_relays=True
                    ),
                )
                await prober.start()
                try:
                    await asyncio.sleep(10)
                    served = {}
                    for name in ("main_hd", "main_sd"):
                        served |= await served_hashes(client, srs.playlist_url(name))
                    await asyncio.sleep(1.5)
                    index = prober.watcher.indexes["main"]
                    live_now = index.is_live(time.time())
                    db_live = await stream_live(sessions, stream_id)
                    clients = {n: srs.clients(n) for n in ("main_hd", "main_sd")}
                    await asyncio.sleep(5)
                    clients_later = {n: srs.clients(n) for n in ("main_hd", "main_sd")}
                finally:
                    await prober.stop()
    print("SRS clients per rendition:", clients, "5 s later:", clients_later)
    assert live_now and db_live
    unknown = sorted(name for sha, name in served.items() if index.lookup(sha) is None)
    assert not unknown, unknown
    assert {n.rsplit("-", 1)[0].rsplit("/", 1)[-1] for n in served.values()} == {
        "main_hd",
        "main_sd",
    }
    assert clients_later == clients
