"""A sliding window of one rendition's segments in memory, bounded in bytes, keyed by content.

The node names its segments `SEQ-HASH.EXT`: a monotonic sequence plus the first hex digits of
the SHA-256 of the bytes. A publisher restart that makes the origin reuse names can therefore
never make the node serve stale bytes under a reused name.

The sequence follows the origin's media sequence numbers when the puller gives them, so every
relay numbers the same segment alike: a player switching relays (content steering pathways,
redundant variants) finds the segment it needs under the same number. When the origin's
numbering goes back (a publisher restart) the node keeps counting up from where it was; when
it skips ahead (segments the node never got) the playlist lists only segments from the skip on,
so the numbers a player derives from the playlist stay right.
"""

import hashlib
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from streamr_protocol.hls import RenderedSegment, render_media

__all__ = ["CachedSegment", "SegmentWindow"]

HASH_CHARS = 16


@dataclass(frozen=True)
class CachedSegment:
    """One segment the node holds: its own name and sequence, the origin's bytes."""

    sequence: int
    name: str
    sha256: str
    data: bytes
    duration: float
    discontinuity: bool
    program_date_time: datetime | None
    title: str | None
    origin_uri: str
    added_at: float
    # segment proofs by (probe key, relay URL), made once per segment (see streamr_protocol.proof)
    proofs: dict[tuple[str, str], str] = field(default_factory=dict, compare=False, repr=False)


class SegmentWindow:
    """Recent segments of one rendition, newest last.

    Args:
        max_bytes: memory bound; the oldest segments go first (the newest always stays).
        list_size: how many of the newest segments the playlist lists.
        max_segments: how many segments are kept for late players and probes; by default twice
            the listed ones and two more: a segment stays servable for as long as a playlist
            that listed it is current, plus margin (RFC 8216 6.2.2 asks for that long).
    """

    def __init__(
        self, max_bytes: int = 64 << 20, list_size: int = 6, max_segments: int | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.list_size = list_size
        wanted = 2 * list_size + 2 if max_segments is None else max_segments
        self.max_segments = max(wanted, list_size)
        self.target_duration = 1.0
        self.ended = False
        self._segments: deque[CachedSegment] = deque()
        self._by_name: dict[str, CachedSegment] = {}
        self._bytes = 0
        self._next_sequence = 0
        self._offset = 0  # node sequence − origin sequence (grows at each origin restart)
        self._run_from = 0  # the first sequence of the current unbroken run (what is listed)
        self._pending_discontinuity = False
        self._evicted_discontinuities = 0
        self._changes = 0  # counts every change of what the playlist lists
        self._rendered: dict[str, bytes] = {}  # playlist bytes by prefix, for `_rendered_at`
        self._rendered_at: tuple[int, float, bool] | None = None

    # --- writing -----------------------------------------------------------------------------

    def mark_discontinuity(self) -> None:
        """Flag the next added segment as a discontinuity (restart, gap, lost segment)."""
        if self._segments:
            self._pending_discontinuity = True

    def add(
        self,
        data: bytes,
        *,
        duration: float,
        origin_uri: str,
        extension: str = ".ts",
        discontinuity: bool = False,
        program_date_time: datetime | None = None,
        title: str | None = None,
        origin_sequence: int | None = None,
    ) -> CachedSegment:
        """Store a segment's bytes under a content-derived name and return it.

        `origin_sequence` is the segment's media sequence number at the origin (see above).
        """
        digest = hashlib.sha256(data).hexdigest()
        sequence = self._next_sequence
        if origin_sequence is not None:
            wanted = origin_sequence + self._offset
            if wanted < sequence:  # the origin numbers from lower again: keep counting up
                self._offset += sequence - wanted
            elif wanted > sequence:  # skipped ahead: list only the new run
                sequence = wanted
                self._run_from = sequence
        self._next_sequence = sequence + 1
        segment = CachedSegment(
            sequence=sequence,
            name=f"{sequence}-{digest[:HASH_CHARS]}{extension}",
            sha256=digest,
            data=data,
            duration=duration,
            discontinuity=(discontinuity or self._pending_discontinuity) and bool(self._segments),
            program_date_time=program_date_time,
            title=title,
            origin_uri=origin_uri,
            added_at=time.monotonic(),
        )
        self._pending_discontinuity = False
        self.ended = False
        self._segments.append(segment)
        self._by_name[segment.name] = segment
        self._bytes += len(data)
        self._evict()
        self._changes += 1
        return segment

    def _evict(self) -> None:
        while len(self._segments) > 1 and (
            self._bytes > self.max_bytes or len(self._segments) > self.max_segments
        ):
            old = self._segments.popleft()
            del self._by_name[old.name]
            self._bytes -= len(old.data)
            if old.discontinuity:
                self._evicted_discontinuities += 1

    def clear(self) -> None:
        """Drop every segment (the stream went away); numbering continues."""
        for old in self._segments:
            if old.discontinuity:
                self._evicted_discontinuities += 1
        self._segments.clear()
        self._by_name.clear()
        self._bytes = 0
        self._pending_discontinuity = False
        self.ended = False
        self._changes += 1

    # --- reading -----------------------------------------------------------------------------

    def get(self, name: str) -> CachedSegment | None:
        return self._by_name.get(name)

    @property
    def segments(self) -> list[CachedSegment]:
        return list(self._segments)

    @property
    def listed(self) -> list[CachedSegment]:
        """The newest segments of the current unbroken run, as the playlist lists them."""
        return [s for s in list(self._segments)[-self.list_size :] if s.sequence >= self._run_from]

    @property
    def bytes_cached(self) -> int:
        return self._bytes

    @property
    def newest(self) -> CachedSegment | None:
        return self._segments[-1] if self._segments else None

    def __len__(self) -> int:
        return len(self._segments)

    def playlist_bytes(self, prefix: str) -> bytes:
        """`render(prefix)` encoded, rendered once per change of the window (viewers share it)."""
        state = (self._changes, self.target_duration, self.ended)
        if state != self._rendered_at:
            self._rendered.clear()
            self._rendered_at = state
        body = self._rendered.get(prefix)
        if body is None:
            body = self._rendered[prefix] = self.render(prefix).encode()
        return body

    def render(self, prefix: str) -> str:
        """Render the media playlist; segment URIs are `prefix + name` (relative)."""
        listed = self.listed
        skipped = len(self._segments) - len(listed)
        discontinuities = self._evicted_discontinuities + sum(
            1 for s in list(self._segments)[:skipped] if s.discontinuity
        )
        longest = max((s.duration for s in listed), default=self.target_duration)
        return render_media(
            [
                RenderedSegment(
                    uri=prefix + s.name,
                    duration=s.duration,
                    title=s.title,
                    discontinuity=s.discontinuity,
                    program_date_time=s.program_date_time,
                )
                for s in listed
            ],
            target_duration=max(self.target_duration, longest),
            media_sequence=listed[0].sequence if listed else self._next_sequence,
            discontinuity_sequence=discontinuities,
            ended=self.ended,
        )
