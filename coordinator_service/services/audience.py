"""Viewers of this replica lately: which pathway each is on, and how many ended on the origin.

A viewer is a random id the watch playlist puts in its steering URI. The playlist and every
steering request say which pathway the viewer is on (`_HLS_pathway`): a relay's node id, or
`origin`. The book keeps the latest per viewer for `window_s` (a few steering TTLs) and at most
`max_viewers` of them, and counts, per stream, playlists that could offer only the origin and
viewers that moved from a relay to the origin. Memory only: each replica counts its own viewers.
"""

import time
from collections import Counter, OrderedDict
from dataclasses import dataclass

__all__ = ["Audience", "StreamAudience"]

ORIGIN = "origin"


@dataclass(frozen=True, slots=True)
class StreamAudience:
    """One stream's viewers now and since start."""

    on_relays: int = 0
    on_origin: int = 0
    playlists: int = 0
    origin_only: int = 0
    fell_back: int = 0


class Audience:
    """The latest pathway of each recent viewer, and per-stream totals since start."""

    def __init__(self, window_s: float = 30.0, max_viewers: int = 100_000) -> None:
        self.window_s = window_s
        self.max_viewers = max_viewers
        self._viewers: OrderedDict[str, tuple[str, str, float]] = OrderedDict()
        self.playlists: Counter[str] = Counter()
        self.origin_only: Counter[str] = Counter()
        self.fell_back: Counter[str] = Counter()

    def served(self, stream: str, viewer: str, first: str, now: float | None = None) -> None:
        """Count a watch playlist whose first pathway is `first`."""
        self.playlists[stream] += 1
        if first == ORIGIN:
            self.origin_only[stream] += 1
        self.saw(stream, viewer, first, now)

    def saw(self, stream: str, viewer: str, pathway: str, now: float | None = None) -> None:
        """Record that `viewer` of `stream` is on `pathway` now."""
        now = time.monotonic() if now is None else now
        before = self._viewers.pop(viewer, None)
        if before is not None and before[1] != ORIGIN and pathway == ORIGIN:
            self.fell_back[stream] += 1
        self._viewers[viewer] = (stream, pathway, now)
        self._prune(now)

    def _prune(self, now: float) -> None:
        while self._viewers:
            _, (_, _, seen) = next(iter(self._viewers.items()))
            if now - seen <= self.window_s and len(self._viewers) <= self.max_viewers:
                return
            self._viewers.popitem(last=False)

    def streams(self, now: float | None = None) -> dict[str, StreamAudience]:
        """Return each stream's viewers on relays and on the origin now, and its totals."""
        now = time.monotonic() if now is None else now
        self._prune(now)
        on: dict[str, Counter[bool]] = {}
        for stream, pathway, _ in self._viewers.values():
            on.setdefault(stream, Counter())[pathway == ORIGIN] += 1
        names = set(on) | set(self.playlists)
        return {
            name: StreamAudience(
                on_relays=on.get(name, Counter())[False],
                on_origin=on.get(name, Counter())[True],
                playlists=self.playlists[name],
                origin_only=self.origin_only[name],
                fell_back=self.fell_back[name],
            )
            for name in sorted(names)
        }
