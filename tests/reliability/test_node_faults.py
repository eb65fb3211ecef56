"""Faults seen by viewers: the coordinator killed while nodes serve, a node killed mid-stream.

Real processes: a live ffmpeg origin, the coordinator, two headless nodes; a viewer goes through
`/watch` like any HLS player and then reads the node it was sent to.
"""

import json
import os
import signal
import stat
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.net import free_port
from tests.fixtures.node import run_node
from tests.fixtures.origin import origin_process
from tests.reliability.integrity import uptime

pytestmark = pytest.mark.slow

FLAGS = ("--heartbeat-interval", "1", "--probe-interval", "1", "--allow-private-relays")


def _wait(check: Callable[[], Any], what: str, timeout: float = 40) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.HTTPError, KeyError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _watch(coord_url: str) -> str:
    answer = httpx.get(f"{coord_url}/watch/main/relay.m3u8", timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def _newest(playlist_url: str) -> tuple[int, str]:
    """(media sequence + segments listed, newest segment URL) of a node playlist."""
    text = httpx.get(playlist_url, timeout=5).text
    sequence = 0
    uris = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line and not line.startswith("#"):
            uris.append(line)
    assert uris, text
    return sequence + len(uris), httpx.URL(playlist_url).join(uris[-1]).__str__()


def test_viewers_keep_watching_through_a_coordinator_kill_and_a_node_kill(
    tmp_path: Path,
) -> None:
    port = free_port()
    home = tmp_path / "coord"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    with origin_process(tmp_path, "main") as origins, ExitStack() as stack:
        coord = stack.enter_context(run_coordinator(home, "--port", str(port), *FLAGS))
        coord.cli("stream", "add", "main", "--origin", origins["main"], "--pool-per-hour", "60")
        alpha = stack.enter_context(run_node(tmp_path / "a", coord.invite(), "--name", "alpha"))
        beta = stack.enter_context(run_node(tmp_path / "b", coord.invite(), "--name", "beta"))
        relays = {alpha.relay_url: alpha, beta.relay_url: beta}
        _wait(
            lambda: {_watch(coord.url).split("/live")[0] for _ in range(12)} == set(relays),
            "/watch to send viewers to both nodes",
        )
        ids = {n["display_name"]: n["node_id"] for n in coord.admin_get("/api/v1/admin/nodes")}
        for node in (alpha, beta):  # the node keeps its identity private and out of its log
            identity = node.data_dir / "identity.json"
            assert stat.S_IMODE(node.data_dir.stat().st_mode) == 0o700
            assert stat.S_IMODE(identity.stat().st_mode) == 0o600
            secrets = json.loads(identity.read_text())
            for key in ("node_token", "probe_key"):
                assert secrets[key] and secrets[key] not in node.log(), key
        target = _watch(coord.url)
        count, segment = _newest(target)
        assert httpx.get(segment, timeout=5).status_code == 200

        # 1. the coordinator dies without warning; viewers on a node notice nothing
        os.killpg(coord.process.pid, signal.SIGKILL)
        coord.process.wait(timeout=10)
        killed_at = datetime.now(UTC)
        while (datetime.now(UTC) - killed_at).total_seconds() < 6:
            now_count, segment = _newest(target)
            assert httpx.get(segment, timeout=5).status_code == 200
            time.sleep(0.5)
        assert now_count > count, "the node stopped following the live stream"
        for node in (alpha, beta):
            node.wait_log("retrying with backoff", timeout=20)
        restarted_at = datetime.now(UTC)
        coord = stack.enter_context(run_coordinator(home, "--port", str(port), *FLAGS))
        for node in (alpha, beta):  # heartbeats resume by themselves (backoff capped at 2 s)
            _wait(lambda node=node: node.status()["coordinator_reachable"], "beats resume")
        spans = uptime(f"sqlite+aiosqlite:///{coord.data_dir / 'coordinator.db'}")
        middle = (killed_at + (restarted_at - killed_at) / 2).replace(tzinfo=None)
        for name in ("alpha", "beta"):
            assert len(spans[ids[name]]) >= 2, spans[ids[name]]
            assert not any(s <= middle <= e for s, e in spans[ids[name]]), "outage hidden"

        # 2. a node dies mid-stream: the next /watch sends viewers to the other one
        os.killpg(alpha.process.pid, signal.SIGKILL)
        alpha.process.wait(timeout=10)
        died = time.monotonic()
        _wait(
            lambda: all(_watch(coord.url).startswith(beta.relay_url) for _ in range(12)),
            "/watch to stop sending viewers to the dead node",
            timeout=20,
        )
        rerouted_s = time.monotonic() - died
        for _ in range(20):
            assert _watch(coord.url).startswith(beta.relay_url)
        count, segment = _newest(_watch(coord.url))
        assert httpx.get(segment, timeout=5).status_code == 200
        print(f"viewers rerouted {rerouted_s:.1f} s after the node died")
