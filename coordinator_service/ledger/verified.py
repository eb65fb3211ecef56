"""Credit only verified time: when a node's relay was not shown to serve, from probes.

A node is credited from a passed check on. These spans are *unverified* and never credited:

- from each relay URL the node takes (registration, or a heartbeat that changes it) until a
  probe at that URL passes: a new or moved relay earns nothing until it is checked;
- from a failed check until the next passed one (whatever the reason: nothing was verified);
- from the last passed check before a failure that proves cheating (`hash_mismatch`: wrong
  bytes, `not_owned`: someone else's relay) back to that passed check: the time since then is
  voided, not just the time after the failure.

Only events strictly before the period's end count, so a closed period never depends on what
happens after it (the time after the period's last check stays credited for that period; a
cheat found later voids the next period's share of it). Nodes with no recorded events at all
(databases from before this rule) are taken as verified until their first probe.
"""

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from coordinator_service.ledger.credit import Span, merge

__all__ = ["CHEATING", "Check", "UrlTaken", "unverified_spans"]

CHEATING = frozenset({"hash_mismatch", "not_owned"})


@dataclass(frozen=True, slots=True)
class Check:
    """One probe of the node: when (epoch seconds), whether it passed, why, at which URL."""

    at: int
    ok: bool
    reason: str
    relay_url: str = ""


@dataclass(frozen=True, slots=True)
class UrlTaken:
    """The node took this relay URL at `at` (epoch seconds)."""

    at: int
    relay_url: str


def unverified_spans(checks: Iterable[Check], taken: Iterable[UrlTaken], end: int) -> list[Span]:
    """Return the node's unverified spans before `end`, merged (see the module docstring)."""
    ordered: Sequence[Check] = sorted((c for c in checks if c.at < end), key=lambda c: c.at)
    times = [c.at for c in ordered]
    spans: list[Span] = []
    for event in taken:
        if event.at >= end:
            continue
        passed = next(
            (
                c.at
                for c in ordered[bisect_left(times, event.at) :]
                if c.ok and c.relay_url in ("", event.relay_url)
            ),
            end,
        )
        spans.append((event.at, passed))
    next_pass = end
    last_pass: list[int | None] = [None] * len(ordered)
    previous: int | None = None
    for position, check in enumerate(ordered):
        last_pass[position] = previous
        if check.ok:
            previous = check.at
    for position in range(len(ordered) - 1, -1, -1):
        check = ordered[position]
        if check.ok:
            next_pass = check.at
            continue
        spans.append((check.at, next_pass))
        before = last_pass[position]
        if check.reason in CHEATING and before is not None:
            spans.append((before, check.at))
    return merge(spans)
