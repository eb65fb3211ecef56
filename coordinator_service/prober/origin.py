"""Watch each stream's origin: its publish sessions, whether it is live, its segments' bytes.

The watcher reads the origin as the nodes do (`streamr_protocol.hls_steps`: SRS's
`hls_ctx` step for every variant, the session URL kept, so SRS counts one client) and fetches
each new segment once. Segments are keyed by content and publish session, never by name alone:
SRS frees a source ~3 s after the publisher leaves and the next publish starts again at
`NAME-0.ts` with new bytes.

A publish session (OBS start → stop) is first-class. SRS's `on_publish`/`on_unpublish` hooks
open and close one when configured (`note_hook`); otherwise a media-sequence reset, a name
listed again with another sequence, or an `#EXT-X-DISCONTINUITY` on a new segment starts one.
A stream is live while its current session's playlist grows: one that has not grown for
`STALE_TARGETS` target durations is not live even if the origin still serves it (SRS 6 keeps
serving its last playlist, without ENDLIST, after the publisher left). Hooks are authoritative:
after `on_unpublish` only a session that began later (a lost hook) makes the stream live again;
after `on_publish` it stays live until a read shows the playlist still for that long (an
origin the coordinator cannot read is no evidence against the hook).

Times are the coordinator's clock (epoch seconds). A segment listed before N seconds of later
segments was published that much earlier than the poll that first saw it.
"""

import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import as_utc
from coordinator_service.prober.fetch import FetchError, fetch
from coordinator_service.storage.models import Stream, StreamLiveInterval
from streamr_protocol.hls import HlsError, MasterPlaylist, MediaPlaylist, MediaSegment, Variant
from streamr_protocol.hls_steps import follow_steps, resolve_renditions

__all__ = [
    "JOIN",
    "KNOWN",
    "STALE_TARGETS",
    "OriginSegment",
    "OriginWatcher",
    "PublishSession",
    "StreamIndex",
    "is_live",
    "record_hook",
    "record_origin",
]

logger = logging.getLogger(__name__)

KNOWN = 512
RECENT = 64
SESSIONS = 16
STALE_TARGETS = 3
MIN_STALE_S = 6.0
MAX_PLAYLIST_BYTES = 1 << 20
MAX_SEGMENT_BYTES = 32 << 20
# intervals closer than this are one (clock rounding between a hook and a poll)
JOIN = timedelta(milliseconds=200)


@dataclass(frozen=True, slots=True)
class OriginSegment:
    """One origin segment: its hash, when it was published, its duration, its publish session,
    its size in bytes."""

    sha256: str
    seen_at: float
    duration: float
    session: int = 0
    sequence: int = 0
    size: int = 0


@dataclass
class PublishSession:
    """One publish at the origin; `started_at` None until its first segment is seen grow."""

    number: int
    started_at: float | None = None
    from_hook: bool = False
    first_seen_at: float | None = None
    last_seen_at: float | None = None
    ended_at: float | None = None


@dataclass
class _Cursor:
    """Where the watcher is in one rendition: its URL (SRS session kept), its newest segment."""

    url: str
    session: int = 0
    sequence: int = -1
    media_sequence: int = -1
    names: dict[int, str] = field(default_factory=dict)


@dataclass
class StreamIndex:
    """What the coordinator knows of one stream's origin right now."""

    name: str
    target_duration: float = 2.0
    ended: bool = False
    sessions: list[PublishSession] = field(default_factory=list)
    # each rendition as a variant at the URL the watcher reads it from now (its SRS session);
    # a lone stream is one variant without attributes; empty until the origin was read
    variants: tuple[Variant, ...] = ()
    recent: "OrderedDict[tuple[str, int, int], OriginSegment]" = field(default_factory=OrderedDict)
    by_hash: "OrderedDict[str, OriginSegment]" = field(default_factory=OrderedDict)
    cursors: dict[str, _Cursor] = field(default_factory=dict)
    hook_live: bool | None = None
    hook_at: float | None = None
    polls: int = 0
    read_at: float | None = None

    # --- segments ------------------------------------------------------------------------------

    def add(self, key: tuple[str, int, int], segment: OriginSegment) -> None:
        """Remember a new segment, evicting the oldest beyond the bounds."""
        self.recent[key] = segment
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)
        self.by_hash.pop(segment.sha256, None)
        self.by_hash[segment.sha256] = segment
        while len(self.by_hash) > KNOWN:
            self.by_hash.popitem(last=False)

    def lookup(self, sha256: str) -> OriginSegment | None:
        """Return the origin segment with these bytes (its session, sequence, first seen)."""
        return self.by_hash.get(sha256)

    # --- sessions ------------------------------------------------------------------------------

    @property
    def current(self) -> PublishSession | None:
        """The newest publish session."""
        return self.sessions[-1] if self.sessions else None

    def open_session(self, started_at: float | None, from_hook: bool = False) -> PublishSession:
        """Start a new publish session."""
        number = self.current.number + 1 if self.current else 1
        self.sessions.append(PublishSession(number, started_at, from_hook))
        del self.sessions[:-SESSIONS]
        return self.sessions[-1]

    def note_hook(self, live: bool, at: float) -> None:
        """Take SRS's latest hook (`on_publish` live, `on_unpublish` not) at time `at`."""
        if self.hook_at == at and self.hook_live == live:
            return
        self.hook_live, self.hook_at = live, at
        current = self.current
        if not live:
            if current is not None and (current.started_at or 0.0) <= at:
                current.ended_at = at
            return
        seen_after = (
            current is not None
            and current.first_seen_at is not None
            and current.first_seen_at >= at
            and current.ended_at is None
        )
        if seen_after:  # the poller saw this publish's first segment before it read the hook
            assert current is not None
            current.started_at, current.from_hook = at, True
        else:
            self.open_session(at, from_hook=True)

    @property
    def stale_after(self) -> float:
        """Seconds without growth after which the stream is not live."""
        return max(STALE_TARGETS * self.target_duration, MIN_STALE_S)

    def is_live(self, now: float) -> bool:
        """Tell whether the stream is live: hooks first, then whether its playlist grows."""
        current = self.current
        if current is None or self.ended:
            return False
        last = current.last_seen_at
        growing = last is not None and now - last <= self.stale_after
        if self.hook_at is None:
            return growing
        if self.hook_live:
            # not live once a read shows the playlist still for a while after the publish; an
            # origin the coordinator cannot read is no evidence against the hook
            still_since = max(self.hook_at, last or 0.0)
            return self.read_at is None or self.read_at - still_since <= self.stale_after
        began_later = current.started_at is not None and current.started_at > self.hook_at
        return growing and began_later and current.ended_at is None

    def live_span(self) -> tuple[float, float] | None:
        """The current session's (start, newest segment) to count as live, if it started."""
        current = self.current
        if current is None or current.started_at is None:
            return None
        return current.started_at, max(current.started_at, current.last_seen_at or 0.0)

    def staleness(
        self, segment: OriginSegment, listed_after: float, limit: float, now: float
    ) -> str | None:
        """Judge a segment a node serves: None when fresh enough, else why it is stale.

        A segment of the current publish session may be at most `limit` seconds older than
        its place in the node's playlist says. One of an earlier session is fine until the
        current session has had `limit` seconds to reach the node (the restart grace): the
        publish gap never counts against a node.
        """
        current = self.current
        if current is None or segment.session == current.number:
            age = now - segment.seen_at - listed_after
            return None if age <= limit else f"stale by {age:.0f} s (limit {limit:.0f} s)"
        since = current.first_seen_at
        if since is None or now - since <= limit:
            return None
        return (
            f"serves publish session {segment.session}, the origin has been in session "
            f"{current.number} for {now - since:.0f} s (limit {limit:.0f} s)"
        )

    def restart_grace_until(self, limit: float) -> float | None:
        """When segments of earlier publish sessions stop being fresh (None: not yet known)."""
        current = self.current
        if current is None or current.first_seen_at is None:
            return None
        return current.first_seen_at + limit


def _path(uri: str) -> str:
    return urlsplit(uri).path


class OriginWatcher:
    """Polls origins and keeps a StreamIndex per stream."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.indexes: dict[str, StreamIndex] = {}

    async def poll(
        self, name: str, origin_url: str, hook: tuple[bool, float] | None = None
    ) -> StreamIndex:
        """Read the origin once: new segments are fetched and hashed; errors mean no growth."""
        index = self.indexes.setdefault(name, StreamIndex(name))
        if hook is not None:
            index.note_hook(*hook)
        counts = index.polls > 0  # what the first poll finds may be an old, stale playlist
        index.polls += 1
        try:
            for key, cursor, playlist in await self._media_playlists(index, origin_url):
                index.target_duration = playlist.target_duration or index.target_duration
                index.ended = playlist.ended
                await self._ingest(index, key, cursor, playlist, counts)
            index.read_at = time.time()
        except FetchError as exc:
            index.cursors.clear()  # read the entry URL again next time
            index.variants = ()
            logger.info("origin of %s unreadable: %s", name, exc.detail)
        except HlsError as exc:
            index.cursors.clear()
            index.variants = ()
            logger.info("origin of %s sent a bad playlist: %s", name, exc)
        return index

    async def _fetch_text(self, url: str) -> tuple[str, str]:
        fetched = await fetch(self.client, url, max_bytes=MAX_PLAYLIST_BYTES)
        return fetched.body.decode("utf-8", "replace"), url

    async def _media_playlists(
        self, index: StreamIndex, entry: str
    ) -> list[tuple[str, _Cursor, MediaPlaylist]]:
        """Each rendition's media playlist, read at the kept session URL when there is one."""
        if index.cursors:
            result = []
            for key, cursor in index.cursors.items():
                url, parsed = await follow_steps(self._fetch_text, cursor.url)
                if isinstance(parsed, MasterPlaylist):
                    raise HlsError("a rendition's playlist became a multi-variant master")
                cursor.url = url  # SRS expired the session: keep the new one
                result.append((key, cursor, parsed))
            urls = [cursor.url for cursor in index.cursors.values()]
            if len(urls) == len(index.variants):
                index.variants = tuple(
                    replace(v, uri=u) for v, u in zip(index.variants, urls, strict=True)
                )
            return result
        old, index.cursors = index.cursors, {}
        result = []
        variants = []
        for rendition in await resolve_renditions(self._fetch_text, entry):
            key = _path(rendition.variant.uri if rendition.variant else entry)
            if key in index.cursors:
                continue  # the same rendition listed twice
            cursor = old.get(key) or _Cursor(rendition.url)
            cursor.url = rendition.url
            index.cursors[key] = cursor
            result.append((key, cursor, rendition.playlist))
            variants.append(replace(rendition.variant or Variant("", 0), uri=rendition.url))
        index.variants = tuple(variants)
        return result

    async def _ingest(
        self, index: StreamIndex, key: str, cursor: _Cursor, playlist: MediaPlaylist, counts: bool
    ) -> None:
        segments = playlist.segments
        if not segments:
            return
        reset = cursor.sequence >= 0 and (
            playlist.media_sequence < cursor.media_sequence
            or segments[-1].sequence < cursor.sequence
            or any(cursor.names.get(s.sequence, _path(s.uri)) != _path(s.uri) for s in segments)
        )
        if reset:
            cursor.sequence, cursor.names = -1, {}
        first_read = cursor.sequence < 0 and not reset
        cursor.media_sequence = playlist.media_sequence
        durations = [s.duration for s in segments]
        now = time.time()
        for position, segment in enumerate(segments):
            if segment.sequence <= cursor.sequence:
                continue
            boundary = reset or (segment.discontinuity and cursor.sequence >= 0)
            reset = False
            session = self._session_for(index, cursor, boundary, first_read)
            body = (await fetch(self.client, segment.uri, max_bytes=MAX_SEGMENT_BYTES)).body
            seen_at = now - sum(durations[position + 1 :])
            self._grow(session, segment, seen_at, counts or not first_read)
            digest = hashlib.sha256(body).hexdigest()
            index.add(
                (key, session.number, segment.sequence),
                OriginSegment(
                    digest, seen_at, segment.duration, session.number, segment.sequence, len(body)
                ),
            )
            cursor.sequence = segment.sequence
            cursor.names[segment.sequence] = _path(segment.uri)
        for old in [seq for seq in cursor.names if seq < playlist.media_sequence]:
            del cursor.names[old]

    @staticmethod
    def _session_for(
        index: StreamIndex, cursor: _Cursor, boundary: bool, first_read: bool
    ) -> PublishSession:
        """The publish session a rendition's next segment belongs to."""
        current = index.current
        if current is None:
            current = index.open_session(None)
        elif boundary and cursor.session >= current.number:
            current = index.open_session(None)  # this rendition is the first to see it
        elif not boundary and not first_read and cursor.session < current.number:
            # an old session's last segment (SRS flushes it at unpublish) after a hook opened
            # the next one: it stays in its own session
            for session in reversed(index.sessions):
                if session.number == cursor.session:
                    return session
        cursor.session = current.number
        return current

    @staticmethod
    def _grow(session: PublishSession, segment: MediaSegment, seen_at: float, counts: bool) -> None:
        if not counts:
            return
        if session.started_at is None:
            session.started_at = seen_at - segment.duration
        if session.first_seen_at is None:
            session.first_seen_at = seen_at
        session.last_seen_at = max(session.last_seen_at or 0.0, seen_at)


def is_live(stream: Stream) -> bool:
    """Tell whether a stream is live now (hooks and the origin watcher keep `Stream.live`).

    /watch and routing call this: a stream that is not live gets no viewers sent to nodes.
    """
    return bool(stream.live) and not stream.paused


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def _extend(
    session: AsyncSession, stream_id: int, since: datetime, until: datetime, opens: bool
) -> None:
    """Extend the latest live interval to `until` if it reaches `since`, else open one (`opens`)."""
    latest = await session.scalar(
        select(StreamLiveInterval)
        .where(StreamLiveInterval.stream_id == stream_id)
        .order_by(StreamLiveInterval.ended_at.desc())
        .limit(1)
    )
    if latest is not None and as_utc(latest.ended_at) >= since - JOIN:
        await session.execute(
            update(StreamLiveInterval)
            .where(StreamLiveInterval.id == latest.id)
            .values(ended_at=max(until, as_utc(latest.ended_at)))
        )
    elif opens:
        session.add(StreamLiveInterval(stream_id=stream_id, started_at=since, ended_at=until))


async def record_origin(
    session: AsyncSession,
    stream_id: int,
    live: bool,
    now: datetime,
    span: tuple[float, float] | None,
    hook_seen: datetime | None = None,
) -> None:
    """Store what the origin watcher found: `Stream.live`, and the live `span` it evidenced.

    The span runs from the publish session's start to its newest segment, so counted live time
    follows the origin's own timeline, not the poll times (several replicas' spans merge).
    `hook_seen` is the latest hook the watcher knew of: a fresher hook stands (nothing written).
    """
    stream = await session.get(Stream, stream_id)
    if stream is None:
        return
    if stream.hook_at is not None and (hook_seen is None or as_utc(stream.hook_at) > hook_seen):
        return
    if stream.live != live:
        stream.live = live
        stream.live_changed_at = now
    if live and span is not None:
        await _extend(session, stream_id, _at(span[0]), _at(span[1]), opens=True)


async def record_hook(session: AsyncSession, stream_id: int, live: bool, now: datetime) -> None:
    """Store an SRS hook: `on_publish` opens a live interval at `now`, `on_unpublish` closes it."""
    stream = await session.get(Stream, stream_id)
    if stream is None:
        return
    was_live = bool(stream.live)
    stream.hook_live, stream.hook_at = live, now
    if stream.live != live:
        stream.live = live
        stream.live_changed_at = now
    if live:
        await _extend(session, stream_id, now, now, opens=True)
    elif was_live:
        await _extend(session, stream_id, now - timedelta(minutes=1), now, opens=False)
