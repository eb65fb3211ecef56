"""What this friend carried and earned, per day, kept in a small JSON file; Qt-free.

The node's counters (bytes served, viewers served) start at zero with each run; the history adds
up their increases per stream and day, so "this week" survives restarts of the app.
"""

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from desktop_app.core.events import StreamStat

__all__ = ["History", "Impact"]

logger = logging.getLogger(__name__)
KEEP_DAYS = 400


@dataclass
class Impact:
    """Bytes carried and viewers served of one stream over some days."""

    stream: str
    bytes_served: int = 0
    viewers: int = 0


class History:
    """Per-day impact and earnings, loaded from and saved to `path` (in memory when None)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.currency = "USD"
        self._impact: dict[str, dict[str, list[int]]] = {}
        self._earnings: dict[str, int] = {}
        self._checks: dict[str, int] = {}
        self._last: dict[str, tuple[int, int]] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self._impact = {
                day: {name: [int(v[0]), int(v[1])] for name, v in streams.items()}
                for day, streams in data.get("impact", {}).items()
            }
            self._earnings = {day: int(v) for day, v in data.get("earnings", {}).items()}
            self._checks = {day: int(v) for day, v in data.get("checks", {}).items()}
            self.currency = str(data.get("currency", "USD"))
        except (OSError, ValueError, TypeError, AttributeError, IndexError) as exc:
            logger.warning("history file %s unreadable, starting afresh: %s", path, exc)
            self._impact, self._earnings = {}, {}

    def save(self) -> None:
        """Write the history atomically, keeping the last KEEP_DAYS days."""
        if self.path is None:
            return
        cutoff = (date.today() - timedelta(days=KEEP_DAYS)).isoformat()
        data = {
            "version": 1,
            "currency": self.currency,
            "impact": {d: v for d, v in sorted(self._impact.items()) if d >= cutoff},
            "earnings": {d: v for d, v in sorted(self._earnings.items()) if d >= cutoff},
            "checks": {d: v for d, v in sorted(self._checks.items()) if d >= cutoff},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def record_streams(self, stats: Iterable[StreamStat], day: date) -> None:
        """Add the increase of each stream's counters since the last call to `day`."""
        bucket = self._impact.setdefault(day.isoformat(), {})
        for stat in stats:
            last_bytes, last_viewers = self._last.get(stat.name, (0, 0))
            # A counter that went down means the node restarted: count from zero again.
            add_bytes = stat.bytes_served - (last_bytes if stat.bytes_served >= last_bytes else 0)
            total = stat.viewers_served_total
            add_viewers = total - (last_viewers if total >= last_viewers else 0)
            self._last[stat.name] = (stat.bytes_served, total)
            if add_bytes or add_viewers:
                entry = bucket.setdefault(stat.name, [0, 0])
                entry[0] += add_bytes
                entry[1] += add_viewers

    def record_check(self, day: date) -> None:
        """Count one of the host's checks on `day`: it fetched like a viewer but is none."""
        key = day.isoformat()
        self._checks[key] = self._checks.get(key, 0) + 1

    def viewers_helped_since(self, first_day: date) -> int:
        """Distinct viewers served from `first_day` on, without the host's checks."""
        start = first_day.isoformat()
        seen = sum(item.viewers for item in self.impact_since(first_day))
        checks = sum(n for day, n in self._checks.items() if day >= start)
        return max(0, seen - checks)

    def bytes_served_since(self, first_day: date) -> int:
        """Bytes served from `first_day` on."""
        return sum(item.bytes_served for item in self.impact_since(first_day))

    def record_earnings(self, today_minor: int, currency: str, day: date) -> None:
        """Remember what was earned on `day`: the host's running total for its (UTC) day."""
        self.currency = currency
        key = day.isoformat()
        self._earnings[key] = today_minor  # the latest word: an estimate can go down

    def impact_since(self, first_day: date) -> list[Impact]:
        """Per stream, what was carried from `first_day` on, biggest first."""
        totals: dict[str, Impact] = {}
        start = first_day.isoformat()
        for day, streams in self._impact.items():
            if day < start:
                continue
            for name, (sent, viewers) in streams.items():
                item = totals.setdefault(name, Impact(name))
                item.bytes_served += sent
                item.viewers += viewers
        return sorted(totals.values(), key=lambda i: (-i.bytes_served, i.stream))

    def earnings_by_day(self, days: int, last_day: date) -> list[tuple[date, int]]:
        """Earnings of each of the `days` days ending with `last_day` (0 where unknown)."""
        first = last_day - timedelta(days=days - 1)
        return [
            (d, self._earnings.get(d.isoformat(), 0))
            for d in (first + timedelta(days=i) for i in range(days))
        ]
