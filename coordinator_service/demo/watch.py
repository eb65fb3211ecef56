"""What the demo prints while it runs: heartbeat rounds, probes, earnings and state changes.

Reads the coordinator's admin API (`/api/v1/admin/nodes`, `/api/v1/admin/probes`) and the public
leaderboard once per poll and prints only what changed since the last one.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from coordinator_service.money import format_minor

__all__ = ["ActivityWatcher"]

EARNINGS_EVERY_S = 5.0


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def _money(minor: int, currency: str) -> str:
    amount = format_minor(minor, currency)
    return f"${amount}" if currency == "USD" else f"{amount} {currency}"


@dataclass
class ActivityWatcher:
    """Polls the coordinator and prints one line per heartbeat round, probe and earnings change."""

    client: httpx.Client
    out: Callable[[str], None]
    heartbeat_interval: float
    beats: dict[str, str] = field(default_factory=dict)
    pending_beats: set[str] = field(default_factory=set)
    last_round_at: float = field(default_factory=time.monotonic)
    states: dict[str, str] = field(default_factory=dict)
    seen_probes: set[tuple[str, str]] = field(default_factory=set)
    earnings: dict[str, int] = field(default_factory=dict)
    last_earnings_at: float = 0.0

    def _get(self, path: str, **params: Any) -> Any:
        """GET JSON, or None when the coordinator does not answer 200 (it may be busy)."""
        try:
            response = self.client.get(path, params=params or None)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def poll(self) -> None:
        """Print what changed since the last poll."""
        nodes = self._get("/api/v1/admin/nodes")
        names: dict[str, str] = {}
        if isinstance(nodes, list):
            self.heartbeats(nodes)
            names = {str(n["node_id"]): str(n["display_name"]) for n in nodes}
        probes = self._get("/api/v1/admin/probes", limit=50)
        if isinstance(probes, list):
            self.probes(probes, names)
        board = self._get("/api/v1/leaderboard")
        if isinstance(board, dict):
            self.earnings_changed(board.get("entries", []))

    def heartbeats(self, nodes: list[dict[str, Any]]) -> None:
        """A line once every node beat since the last line (or a heartbeat interval passed)."""
        for node in nodes:
            name = str(node["display_name"])
            beat = str(node.get("last_heartbeat_at") or "")
            if beat and self.beats.get(name) != beat:
                self.beats[name] = beat
                self.pending_beats.add(name)
            state = str(node.get("state", ""))
            if state and self.states.get(name) not in (None, state):
                self.out(f"[{_stamp()}] state      {name}: {self.states[name]} -> {state}")
            self.states[name] = state
        now = time.monotonic()
        everyone = {str(n["display_name"]) for n in nodes}
        due = now - self.last_round_at >= self.heartbeat_interval
        if self.pending_beats and (self.pending_beats >= everyone or due):
            parts = ", ".join(f"{n} {self.states.get(n, '?')}" for n in sorted(self.pending_beats))
            self.out(f"[{_stamp()}] heartbeats {len(self.pending_beats)}/{len(everyone)}: {parts}")
            self.pending_beats.clear()
            self.last_round_at = now

    def probes(self, probes: list[dict[str, Any]], names: dict[str, str]) -> None:
        """A line per probe not printed before, oldest first."""
        for probe in sorted(probes, key=lambda p: str(p.get("at", ""))):
            key = (str(probe.get("node_id")), str(probe.get("at")))
            if key in self.seen_probes:
                continue
            self.seen_probes.add(key)
            verdict = "ok" if probe.get("ok") else f"FAILED: {probe.get('reason', '?')}"
            latency = probe.get("latency_ms")
            extra = f" ({latency} ms)" if latency is not None else ""
            self.out(f"[{_stamp()}] probe      {names.get(key[0], key[0])}: {verdict}{extra}")

    def earnings_changed(self, entries: list[dict[str, Any]]) -> None:
        """A line when the leaderboard's earnings changed, at most every few seconds."""
        current = {str(e["display_name"]): int(e.get("earned_minor", 0)) for e in entries}
        now = time.monotonic()
        if (
            not current
            or current == self.earnings
            or now - self.last_earnings_at < EARNINGS_EVERY_S
        ):
            return
        currency = str(entries[0].get("currency", "USD"))
        parts = ", ".join(
            f"{name} {_money(amount, currency)}"
            for name, amount in sorted(current.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        self.out(f"[{_stamp()}] earnings   {parts}")
        self.earnings = current
        self.last_earnings_at = now
