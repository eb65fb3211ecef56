"""Interval arithmetic for credited time: half-open `[start, end)` spans in whole UTC seconds.

A node's credited time for a stream and period is

    merge(its uptime intervals reporting that stream) ∩ merge(the stream's live intervals)
        ∩ [period_from, period_to) − merge(its flag intervals)

All functions take any iterable of `(start, end)` pairs and return a sorted list of disjoint,
non-adjacent, non-empty spans. Datetimes become seconds with `to_seconds` (floored), so every
credited figure is an exact integer.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = [
    "Span",
    "as_utc",
    "clip",
    "credited_seconds",
    "from_seconds",
    "intersect",
    "intersect_merged",
    "merge",
    "subtract",
    "subtract_merged",
    "to_seconds",
    "total",
]

Span = tuple[int, int]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_seconds(moment: datetime) -> int:
    """Return whole seconds since the epoch (floored); naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return delta.days * 86_400 + delta.seconds


def from_seconds(seconds: int) -> datetime:
    """Return the aware UTC datetime of whole seconds since the epoch."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sort spans and join those that overlap or touch; drop empty ones."""
    result: list[Span] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def intersect(left: Iterable[Span], right: Iterable[Span]) -> list[Span]:
    """Return the time covered by both `left` and `right`."""
    return intersect_merged(merge(left), merge(right))


def intersect_merged(a: list[Span], b: list[Span]) -> list[Span]:
    """Intersect two lists that are already `merge`d (sorted, disjoint): linear time."""
    result: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(left: Iterable[Span], right: Iterable[Span]) -> list[Span]:
    """Return the time covered by `left` but not by `right`."""
    return subtract_merged(merge(left), merge(right))


def subtract_merged(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """Subtract two lists that are already `merge`d (sorted, disjoint): linear time."""
    result: list[Span] = []
    j = 0
    for start, end in spans:
        cursor = start
        while j < len(cuts) and cuts[j][1] <= cursor:
            j += 1
        k = j
        while k < len(cuts) and cuts[k][0] < end:
            if cuts[k][0] > cursor:
                result.append((cursor, cuts[k][0]))
            cursor = max(cursor, cuts[k][1])
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def clip(spans: Iterable[Span], start: int, end: int) -> list[Span]:
    """Return the part of `spans` inside `[start, end)`."""
    return intersect(spans, [(start, end)])


def total(spans: Iterable[Span]) -> int:
    """Return the seconds covered (overlaps counted once)."""
    return sum(end - start for start, end in merge(spans))


def credited_seconds(
    uptime: Iterable[Span],
    live: Iterable[Span],
    flagged: Iterable[Span],
    period: Span,
) -> int:
    """Return a node's credited seconds: uptime ∩ live ∩ period − flagged."""
    return total(subtract(clip(intersect(uptime, live), *period), flagged))


def as_utc(moment: datetime) -> datetime:
    """Return `moment` as an aware UTC datetime; naive values (SQLite) are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
