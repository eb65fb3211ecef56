"""The demo's activity lines: one per heartbeat round, per new probe, per earnings change."""

import httpx
import pytest

from coordinator_service.demo.watch import ActivityWatcher


@pytest.fixture
def watcher():
    lines: list[str] = []
    with httpx.Client() as client:
        found = ActivityWatcher(client, lines.append, heartbeat_interval=5)
        found.lines = lines
        yield found


def node(name, beat, state="healthy"):
    return {
        "node_id": name.upper(),
        "display_name": name,
        "last_heartbeat_at": beat,
        "state": state,
    }


def test_a_heartbeat_round_is_one_line_once_every_node_beat(watcher):
    watcher.heartbeats([node("a", "t1"), node("b", None)])
    assert watcher.lines == []  # b has not beaten yet and the round is not due
    watcher.heartbeats([node("a", "t1"), node("b", "t1")])
    assert [line.split("] ")[1] for line in watcher.lines] == [
        "heartbeats 2/2: a healthy, b healthy"
    ]
    watcher.heartbeats([node("a", "t1"), node("b", "t1")])
    assert len(watcher.lines) == 1  # nothing new


def test_a_state_change_gets_its_own_line(watcher):
    watcher.heartbeats([node("cheat", "t1")])
    watcher.heartbeats([node("cheat", "t2", state="flagged")])
    assert any(line.endswith("state      cheat: healthy -> flagged") for line in watcher.lines)


def test_each_probe_is_printed_once_oldest_first_with_its_reason(watcher):
    probes = [
        {"node_id": "B", "at": "2026-01-01T00:00:02Z", "ok": False, "reason": "stale",
         "latency_ms": 7},
        {"node_id": "A", "at": "2026-01-01T00:00:01Z", "ok": True, "reason": "ok",
         "latency_ms": 12},
    ]  # fmt: skip
    watcher.probes(probes, {"A": "node-1", "B": "cheat-stale"})
    watcher.probes(probes, {"A": "node-1", "B": "cheat-stale"})
    assert [line.split("] ")[1] for line in watcher.lines] == [
        "probe      node-1: ok (12 ms)",
        "probe      cheat-stale: FAILED: stale (7 ms)",
    ]


def test_earnings_are_printed_in_the_currency_biggest_first_and_only_when_changed(watcher):
    entries = [
        {"display_name": "b", "earned_minor": 5, "currency": "USD"},
        {"display_name": "a", "earned_minor": 126, "currency": "USD"},
    ]
    watcher.earnings_changed(entries)
    watcher.earnings_changed(entries)
    assert [line.split("] ")[1] for line in watcher.lines] == ["earnings   a $1.26, b $0.05"]
