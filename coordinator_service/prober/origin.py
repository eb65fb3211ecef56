"""Watch each stream's origin playlist: live or not (coordinator clock), hashes of its segments.

The watcher reads the origin itself (following an SRS master playlist to its variants, parsed by
`streamr_protocol.hls` as the node parses it, so both sides read HLS alike), fetches
every new segment once and keeps its SHA-256 in a bounded index per stream: the newest
`RECENT` segments by arrival, and up to `KNOWN` hashes in all, so a probe can tell a fresh
segment from an old one (stale relay) and from bytes the origin never published (wrong bytes).
"""

import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import as_utc
from coordinator_service.prober.fetch import FetchError, fetch
from coordinator_service.storage.models import Stream, StreamLiveInterval
from streamr_protocol.hls import HlsError, MasterPlaylist, MediaPlaylist, Variant, parse_playlist

__all__ = [
    "KNOWN",
    "OriginSegment",
    "OriginWatcher",
    "StreamIndex",
    "record_live",
    "segment_key",
]

logger = logging.getLogger(__name__)

KNOWN = 512
RECENT = 32
MAX_PLAYLIST_BYTES = 1 << 20
MAX_SEGMENT_BYTES = 32 << 20


def segment_key(uri: str) -> str:
    """Return a segment URI without its query string (SRS appends `?hls_ctx=…`)."""
    return uri.split("?", 1)[0]


@dataclass(frozen=True, slots=True)
class OriginSegment:
    """One origin segment: its hash, when the coordinator first saw it, its duration."""

    sha256: str
    seen_at: float
    duration: float


@dataclass
class StreamIndex:
    """What the coordinator knows of one stream's origin right now."""

    name: str
    target_duration: float = 2.0
    changed_at: float | None = None
    ended: bool = False
    # the origin's master playlist variants as last read (empty: the origin is a media playlist)
    variants: tuple[Variant, ...] = ()
    recent: "OrderedDict[str, OriginSegment]" = field(default_factory=OrderedDict)
    by_hash: "OrderedDict[str, OriginSegment]" = field(default_factory=OrderedDict)

    def add(self, key: str, segment: OriginSegment) -> None:
        """Remember a new segment, evicting the oldest beyond the bounds."""
        self.recent[key] = segment
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)
        self.by_hash[segment.sha256] = segment
        while len(self.by_hash) > KNOWN:
            self.by_hash.popitem(last=False)

    def lookup(self, sha256: str) -> OriginSegment | None:
        """Return the origin segment with these bytes, if the origin published them lately."""
        return self.by_hash.get(sha256)

    @property
    def newest_seen_at(self) -> float | None:
        """Return when the newest origin segment was first seen."""
        return max((s.seen_at for s in self.recent.values()), default=None)

    def is_live(self, now: float) -> bool:
        """Tell whether the origin published a segment lately (within 3 target durations)."""
        if self.ended or self.changed_at is None:
            return False
        return now - self.changed_at <= max(3 * self.target_duration, 6.0)


class OriginWatcher:
    """Polls origins and keeps a StreamIndex per stream."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.indexes: dict[str, StreamIndex] = {}

    async def poll(self, name: str, origin_url: str) -> StreamIndex:
        """Read the origin once: new segments are fetched and hashed; errors mean not live."""
        index = self.indexes.setdefault(name, StreamIndex(name))
        try:
            for playlist in await self._media_playlists(origin_url, index):
                index.target_duration = playlist.target_duration or index.target_duration
                index.ended = playlist.ended
                durations = [segment.duration for segment in playlist.segments]
                for position, segment in enumerate(playlist.segments):
                    key = segment_key(segment.uri)
                    if key in index.recent:
                        continue
                    body = (await fetch(self.client, segment.uri, max_bytes=MAX_SEGMENT_BYTES)).body
                    now = time.time()
                    # a segment listed before later ones was published that much earlier
                    seen_at = now - sum(durations[position + 1 :])
                    digest = hashlib.sha256(body).hexdigest()
                    index.add(key, OriginSegment(digest, seen_at, durations[position]))
                    index.changed_at = now
        except FetchError as exc:
            logger.info("origin of %s unreadable: %s", name, exc.detail)
        except HlsError as exc:
            logger.info("origin of %s sent a bad playlist: %s", name, exc)
        return index

    async def _playlist(self, url: str) -> MasterPlaylist | MediaPlaylist:
        body = (await fetch(self.client, url, max_bytes=MAX_PLAYLIST_BYTES)).body
        return parse_playlist(body.decode("utf-8", "replace"), url)

    async def _media_playlists(self, url: str, index: StreamIndex) -> list[MediaPlaylist]:
        playlist = await self._playlist(url)
        if isinstance(playlist, MediaPlaylist):
            index.variants = ()
            return [playlist]
        index.variants = playlist.variants[:4]
        result = []
        for variant in playlist.variants[:4]:
            media = await self._playlist(variant.uri)
            if isinstance(media, MasterPlaylist):
                raise HlsError("a variant of the master playlist is a master playlist")
            result.append(media)
        return result


async def record_live(
    session: AsyncSession,
    stream_id: int,
    live: bool,
    now: datetime,
    grace: timedelta,
    hold: timedelta | None = None,
) -> None:
    """Extend the stream's latest live interval to `now` (or open one) and set `Stream.live`.

    An interval that ended within `grace` is extended (polls are a few seconds apart); after a
    longer gap a new interval starts. Several coordinator replicas may record overlapping
    intervals: credited time merges them, so nothing counts twice. With `hold`, a state that
    changed less than `hold` ago stands: the origin poller then cannot undo an SRS hook's
    `on_publish` before the first segment is written, nor its `on_unpublish` while the last
    segments still look recent.
    """
    stream = await session.get(Stream, stream_id)
    if stream is None:
        return
    changed_at = stream.live_changed_at
    if (
        hold is not None
        and stream.live != live
        and changed_at is not None
        and now - as_utc(changed_at) < hold
    ):
        return
    if stream.live != live:
        stream.live = live
        stream.live_changed_at = now
    if not live:
        return
    latest = await session.scalar(
        select(StreamLiveInterval)
        .where(StreamLiveInterval.stream_id == stream_id)
        .order_by(StreamLiveInterval.ended_at.desc())
        .limit(1)
    )
    if latest is not None and as_utc(latest.ended_at) >= now - grace:
        await session.execute(
            update(StreamLiveInterval)
            .where(StreamLiveInterval.id == latest.id)
            .values(ended_at=max(now, as_utc(latest.ended_at)))
        )
    else:
        session.add(StreamLiveInterval(stream_id=stream_id, started_at=now, ended_at=now))
