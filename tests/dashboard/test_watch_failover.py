"""Viewers in a real Chromium keep playing when the relay serving them is killed (no reload).

Three real node processes relay a live ffmpeg origin through a real coordinator. Two viewers
open `/watch/main`; the relay serving the first is killed (SIGKILL) mid-play. The page must
move to another pathway without starting over, and the stall it saw is measured (the longest
wall-clock time `currentTime` did not advance) and written to artifacts/watch-failover.json.
Then every relay is killed: both viewers end on the origin, and the coordinator counts them.
"""

import asyncio
import contextlib
import json
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.dashboard.browser import chromium, ensure_hls_js, wait_player
from tests.fixtures.coordinator import RunningCoordinator, run_coordinator
from tests.fixtures.node import RunningNode, run_node
from tests.fixtures.origin import live_origin

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
RELAYS = ("Ana", "Ben", "Cat")

# Samples the player every 50 ms: `longest` is the longest wall-clock gap between two advances
# of currentTime since the last reset (a stall), `now_gap` the gap still open.
STALL_METER = """
window.__stall = { last: 0, lastTime: -1, longest: 0, log: [] };
['waiting', 'playing', 'seeking', 'seeked', 'stalled'].forEach(function (name) {
  document.addEventListener(name, function () {
    window.__stall.log.push([Math.round(performance.now()), name,
      document.getElementById('player').currentTime.toFixed(2)]);
  }, true);
});
setInterval(function () {
  const v = document.getElementById('player');
  const s = window.__stall;
  if (!v) { return; }
  const now = performance.now();
  if (v.currentTime > s.lastTime + 0.001) {
    if (s.lastTime >= 0) { s.longest = Math.max(s.longest, now - s.last); }
    s.last = now;
    s.lastTime = v.currentTime;
  }
}, 50);
"""


@pytest.fixture(scope="module", autouse=True)
def _hls_js_built() -> None:
    ensure_hls_js()


async def _stall_ms(page: Page) -> float:
    return float(
        await page.evaluate(
            "() => Math.max(window.__stall.longest, performance.now() - window.__stall.last)"
        )
    )


def _relay_pathways(coord: RunningCoordinator) -> list[str]:
    text = httpx.get(f"{coord.url}/watch/main.m3u8", timeout=5).text
    ids = re.findall(r'PATHWAY-ID="([^"]+)"', text)
    return [i for i in dict.fromkeys(ids) if i != "origin"]


def _metric(coord: RunningCoordinator, name: str) -> float:
    text = httpx.get(f"{coord.url}/metrics", timeout=5).text
    match = re.search(rf'^{name}\{{stream="main"\}} ([0-9.]+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def _until(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _same_numbering(nodes: list[RunningNode]) -> None:
    """Each relay lists a segment (same bytes: same hash in its name) under the same number,
    so a player moving between them finds what it needs (relays started seconds apart)."""
    numbered: dict[str, list[str]] = {}
    for node in nodes:
        text = httpx.get(f"{node.relay_url}/live/main.m3u8", timeout=5).text
        for name in re.findall(r"^main/([0-9]+-[0-9a-f]+)\.ts$", text, re.MULTILINE):
            sequence, digest = name.split("-")
            numbered.setdefault(digest, []).append(sequence)
    assert any(len(found) > 1 for found in numbered.values()), numbered
    assert all(len(set(found)) == 1 for found in numbered.values()), numbered


def _kill(node: RunningNode) -> None:
    with contextlib.suppress(ProcessLookupError):
        node.process.send_signal(signal.SIGKILL)
    node.process.wait(timeout=10)


async def test_killing_the_serving_relay_costs_a_short_stall_and_no_reload(
    tmp_path: Path, artifacts_dir: Path
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        origin = await stack.enter_async_context(live_origin("main"))
        coord = await asyncio.to_thread(
            stack.enter_context,
            run_coordinator(
                tmp_path,
                "--heartbeat-interval",
                "1",
                "--probe-interval",
                "0.5",
                "--allow-private-relays",
            ),
        )
        await asyncio.to_thread(
            coord.admin_post,
            "/api/v1/admin/streams",
            {"name": "main", "origin_url": origin.url("main"), "pool_per_hour_minor": 3600},
        )
        nodes: dict[str, RunningNode] = {}
        for name in RELAYS:
            link = await asyncio.to_thread(coord.invite)
            nodes[name] = await asyncio.to_thread(
                stack.enter_context,
                run_node(tmp_path, link, "--name", name, data_dir=tmp_path / name),
            )
        await _until(lambda: len(_relay_pathways(coord)) == 3, "three relays offered")
        await asyncio.to_thread(_same_numbering, list(nodes.values()))
        by_id = {
            n["node_id"]: nodes[n["display_name"]]
            for n in await asyncio.to_thread(coord.admin_get, "/api/v1/admin/nodes")
        }

        browser = await stack.enter_async_context(chromium())
        viewers = []
        for _ in range(2):
            page = await browser.new_page(viewport={"width": 640, "height": 480})
            await page.add_init_script(STALL_METER)
            await page.goto(coord.url + "/watch/main")
            await page.evaluate("() => { window.__marker = 1; }")
            viewers.append(page)
        first = await wait_player(
            viewers[0],
            lambda s: s["segments"] >= 3 and s["time"] > 2 and s["pathway"] in by_id,
            "played from a relay",
            timeout_s=60,
        )
        assert first["engine"] == "hls.js"
        assert first["restarts"] == 0 and len(first["pathways"]) == 4
        assert first["token"], "the playlist carried no report token"
        serving = first["pathway"]

        # kill the relay serving the first viewer mid-play
        await viewers[0].evaluate(
            "() => { window.__stall.longest = 0; window.__killAt = Math.round(performance.now()); }"
        )
        killed_at = time.monotonic()
        await asyncio.to_thread(_kill, by_id[serving])
        moved = await wait_player(
            viewers[0],
            lambda s: s["pathway"] not in (serving, "", "origin") and s["time"] > first["time"],
            "moved to another relay",
        )
        switched_s = time.monotonic() - killed_at
        played = await wait_player(
            viewers[0],
            lambda s: s["time"] > moved["time"] + 4 and s["segments"] > moved["segments"] + 3,
            "played on",
        )
        stall_ms = await _stall_ms(viewers[0])
        timeline = await viewers[0].evaluate(
            "() => ({kill: window.__killAt, log: window.__stall.log,"
            " events: (window.streamrPlayer.events || [])})"
        )
        (artifacts_dir / "watch-failover-timeline.json").write_text(json.dumps(timeline) + "\n")
        assert played["marker"] == 1, "the page was reloaded"
        assert played["restarts"] == 0 and played["switches"] >= 1
        await expect(viewers[0].locator("#relayed-by")).to_contain_text("Relayed by")
        on_origin_after_one_kill = _metric(coord, "streamr_watch_fell_back_to_origin_total")

        # every relay gone: both viewers end on the origin, and the coordinator counts them
        for page in viewers:
            await page.evaluate("() => { window.__stall.longest = 0; }")
        for node in nodes.values():
            await asyncio.to_thread(_kill, node)
        origin_stalls_ms = []
        for page in viewers:
            reached = await wait_player(
                page, lambda s: s["pathway"] == "origin", "reached the origin"
            )
            at = reached["time"]
            last = await wait_player(
                page, lambda s, at=at: s["time"] > at + 3, "played from the origin"
            )
            assert last["marker"] == 1, "the page was reloaded"
            origin_stalls_ms.append(round(await _stall_ms(page)))
        # the page's beacons reached the coordinator and none was refused
        beacons = await wait_player(
            viewers[0], lambda s: s["reportsAccepted"] >= 2, "had its beacons accepted"
        )
        assert beacons["reportsRefused"] == 0
        await _until(
            lambda: _metric(coord, "streamr_watch_fell_back_to_origin_total") >= 2,
            "the fallbacks counted",
            timeout_s=30,
        )
        ended = _metric(coord, "streamr_watch_fell_back_to_origin_total")
        measured = {
            "stall_after_kill_ms": round(stall_ms),
            "seconds_until_other_relay": round(switched_s, 2),
            "viewers_on_origin_after_one_kill": on_origin_after_one_kill,
            "viewers_fell_back_after_all_killed": ended,
            "stall_moving_to_origin_ms": origin_stalls_ms,
        }
        (artifacts_dir / "watch-failover.json").write_text(json.dumps(measured, indent=2) + "\n")
        print("watch failover:", measured)
