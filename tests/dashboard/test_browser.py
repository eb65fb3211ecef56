"""The host's paths through the dashboard in a real browser against a real coordinator."""

import asyncio
import contextlib
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from streamr_protocol.invite import parse_invite_link
from tests.dashboard.browser import chromium, ensure_hls_js, screenshot, wait_player
from tests.fixtures.coordinator import RunningCoordinator, run_coordinator
from tests.fixtures.node import run_node
from tests.fixtures.origin import live_origin
from tests.trust.nodes import BeatingNode
from tests.trust.relays import MirrorRelay

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def _hls_js_built() -> None:
    ensure_hls_js()


def _shots(artifacts_dir: Path) -> Path:
    return artifacts_dir / "screenshots" / "dashboard"


def _watch_console(page: Page, problems: list[str]) -> Page:
    """Collect the page's console errors (CSP violations, script errors) into `problems`."""
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return page


async def _sign_in_with_link(page: Page, coord: RunningCoordinator) -> None:
    link = coord.cli("dashboard-link").stdout.strip().splitlines()[-1]
    assert link.startswith(coord.url + "/login/")
    await page.goto(link)  # straight to the dashboard: no card to click through
    await expect(page.locator("h1")).to_have_text("Overview")


async def test_host_signs_in_adds_a_stream_and_creates_an_invite(
    tmp_path: Path, artifacts_dir: Path
) -> None:
    shots = _shots(artifacts_dir)
    async with live_origin("show") as origin:
        with run_coordinator(tmp_path, "--heartbeat-interval", "1") as coord:
            async with chromium() as browser:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                await page.goto(coord.url + "/nodes")
                await expect(page).to_have_url(coord.url + "/login?next=/nodes")
                await screenshot(page, shots, "01-sign-in")
                await page.fill("#token", "not the token")
                await page.click("button[type=submit]")
                await expect(page.locator(".error")).to_have_text("That is not the admin token.")
                await page.fill("#token", coord.admin_token)
                await page.click("button[type=submit]")
                await expect(page).to_have_url(coord.url + "/nodes")
                cookies = await page.context.cookies()
                session = next(c for c in cookies if c["name"] == "streamr_session")
                assert session["httpOnly"] and session["sameSite"] == "Strict"

                await page.context.clear_cookies()
                await _sign_in_with_link(page, coord)

                # keyboard: the first Tab reaches the skip link, Enter moves focus to the content
                await page.keyboard.press("Tab")
                assert await page.evaluate("document.activeElement.textContent") == (
                    "Skip to content"
                )
                await page.keyboard.press("Enter")
                assert await page.evaluate("document.activeElement.id") == "main"

                await page.click("nav >> text=Streams")
                await page.fill("#new-name", "show")
                await page.fill("#new-origin", origin.url("show"))
                await page.fill("#new-pool", "3.60")
                await page.click("text=Add stream")
                await expect(page.locator(".done")).to_have_text("Stream added.")
                await expect(page.locator("#streams-table")).to_contain_text("3.60 USD")
                await screenshot(page, shots, "03-streams")

                await page.click("nav >> text=Invites")
                await page.fill("#inv-uses", "2")
                await page.select_option("#inv-expires", "1d")
                await page.fill("#inv-note", "for Sam")
                await page.click("text=Create invite")
                link = await page.input_value("#invite-link")
                assert parse_invite_link(link).coordinator_url == coord.url
                await expect(page.locator(".qr-box svg")).to_be_visible()
                await page.click("button[data-copy]")
                await expect(page.locator("button[data-copy]")).to_have_text("Copied")
                await expect(page.locator("#invites-table")).to_contain_text("2 of 2")
                await screenshot(page, shots, "04-invites")

                phone = await browser.new_page(viewport={"width": 390, "height": 844})
                await phone.context.add_cookies(await page.context.cookies())
                await phone.goto(coord.url + "/")
                width = await phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"the overview is {width} px wide on a 390 px phone"
                await screenshot(phone, shots, "02-overview-phone")


async def _wait_state(page: Page, name: str, state: str, timeout_s: float = 40) -> None:
    """Wait, without reloading, until the nodes table shows `name` in `state`."""
    row = page.locator("#nodes-table tr", has_text=name)
    await expect(row.locator(f'[data-state="{state}"]')).to_be_visible(timeout=timeout_s * 1000)


async def _payout_lines(page: Page) -> list[tuple[str, str, str]]:
    """Return (name, credited seconds, amount) of each line of the payout on the page."""
    return [
        tuple(row)
        for row in await page.eval_on_selector_all(
            "table.lines tbody tr",
            "rows => rows.map(r => [r.querySelector('th').textContent.trim(),"
            " r.querySelector('[data-seconds]').dataset.seconds,"
            " r.querySelector('[data-amount]').dataset.amount])",
        )
    ]


async def test_host_sees_nodes_join_catches_a_cheat_pays_out_and_viewers_watch(
    tmp_path: Path, artifacts_dir: Path
) -> None:
    shots = _shots(artifacts_dir)
    started = datetime.now(UTC).replace(microsecond=0)
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
        browser = await stack.enter_async_context(chromium())
        problems: list[str] = []
        page = _watch_console(
            await browser.new_page(viewport={"width": 1280, "height": 900}), problems
        )
        await _sign_in_with_link(page, coord)

        await page.goto(coord.url + "/streams")
        await page.fill("#new-name", "main")
        await page.fill("#new-origin", origin.url("main"))
        await page.fill("#new-pool", "36")
        await page.click("text=Add stream")
        await expect(page.locator(".done")).to_have_text("Stream added.")

        async def invite(note: str) -> str:
            await page.goto(coord.url + "/invites")
            await page.fill("#inv-note", note)
            await page.click("text=Create invite")
            return await page.input_value("#invite-link")

        # a friend's real headless node joins with an invite made in the dashboard
        sam_link = await invite("for Sam")
        await page.goto(coord.url + "/nodes")
        sam = await asyncio.to_thread(
            stack.enter_context,
            run_node(
                tmp_path,
                sam_link,
                "--name",
                "Sam",
                "--payout-handle",
                "@sam",
                data_dir=tmp_path / "sam",
            ),
        )
        await _wait_state(page, "Sam", "healthy")
        await expect(page.locator("#nodes-table tr", has_text="Sam")).to_contain_text("reachable")

        # a second honest relay, and a cheat that serves corrupt bytes
        alex = BeatingNode(coord.url, "Alex")

        async def close_alex() -> None:
            if not alex.client.is_closed:
                await alex.close()

        stack.push_async_callback(close_alex)
        await alex.join(await invite("for Alex"), await alex.start_real_relay())
        alex.start_beating()
        mallory = BeatingNode(coord.url, "Mallory")
        stack.push_async_callback(mallory.close)
        mallory.mirror = await stack.enter_async_context(
            MirrorRelay(origin.base_url, "", mode="corrupt")
        )
        await mallory.join(await invite("for Mallory"), mallory.mirror.url)
        mallory.start_beating()
        await page.goto(coord.url + "/nodes")
        await _wait_state(page, "Alex", "healthy")
        await _wait_state(page, "Mallory", "flagged")
        await screenshot(page, shots, "05-nodes")
        await page.click("#nodes-table >> text=Mallory")
        await expect(page.locator("#probe-log")).to_contain_text("hash_mismatch")
        await expect(page.locator("#node-summary [data-state]")).to_have_text("flagged")
        await screenshot(page, shots, "06-node-flagged")

        await page.goto(coord.url + "/")
        await expect(page.locator("#fig-nodes-relaying")).to_have_text("2", timeout=15_000)
        await expect(page.locator("#fig-streams-live")).to_have_text("1")
        await screenshot(page, shots, "02-overview")

        # a viewer plays /watch/main through a friend's relay; it moves on when that relay goes
        viewer_problems: list[str] = []
        viewer = _watch_console(
            await browser.new_page(viewport={"width": 1024, "height": 768}), viewer_problems
        )
        await viewer.goto(coord.url + "/watch/main")
        first = await wait_player(
            viewer,
            lambda s: s.get("segments", 0) >= 3 and s["time"] > 0 and s["relayedBy"],
            "loaded live segments",
        )
        assert first["relayedBy"] in ("Sam", "Alex") and first["engine"] == "hls.js"
        await expect(viewer.locator("#relayed-by")).to_have_text(f"Relayed by {first['relayedBy']}")
        await expect(viewer.locator("#thanks")).to_contain_text("Thanks to Sam, Alex")
        await wait_player(viewer, lambda s: s["time"] > first["time"] + 2, "advanced in time")
        await screenshot(viewer, shots, "09-watch")
        if first["relayedBy"] == "Sam":
            await asyncio.to_thread(sam.stop)
            other = "Alex"
        else:
            await close_alex()
            other = "Sam"
        moved = await wait_player(
            viewer, lambda s: s["relayedBy"] == other, f"moved to {other}", timeout_s=60
        )
        assert moved["restarts"] == 0  # content steering moved it: no start over
        await wait_player(
            viewer,
            lambda s: s["segments"] > moved["segments"] + 2 and s["time"] > moved["time"] + 2,
            f"played on from {other}",
        )

        # without the vendored hls.js the page plays with the browser's own HLS
        native = await browser.new_page(viewport={"width": 800, "height": 600})
        await native.route("**/vendor/hls.min.js", lambda route: route.abort())
        await native.goto(coord.url + "/watch/main")
        await wait_player(
            native, lambda s: s.get("engine") == "native" and s["time"] > 2, "played natively"
        )
        await expect(native.locator("#relayed-by")).to_have_text(f"Relayed by {other}")

        # the supporters so far (a payout starts a new period, so look before paying)
        await page.goto(coord.url + "/leaderboard")
        await expect(page.locator("table.board")).to_contain_text("Sam")
        await screenshot(page, shots, "10-leaderboard")

        # the host pays out the period: the preview, the saved payout and its CSV agree
        await page.goto(coord.url + "/payouts")
        period_to = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        await page.fill("#p-from", started.strftime("%Y-%m-%dT%H:%M:%S"))
        await page.fill("#p-to", period_to.strftime("%Y-%m-%dT%H:%M:%S"))
        await page.select_option("#p-stream", "main")
        await page.click("text=Preview payout")
        await expect(page.locator("h1")).to_have_text("Payout preview")
        preview_csv = await page.inner_text("#csv-preview")
        preview_lines = await _payout_lines(page)
        assert any(name == "Sam" for name, _, _ in preview_lines), preview_lines
        mallory_row = page.locator("#credit-reasons tr", has_text="Mallory")
        await expect(mallory_row).to_contain_text("flagged by failed probes")
        await screenshot(page, shots, "07-payout-preview")
        await page.click("text=Save this payout")
        await expect(page.locator("h1")).to_contain_text("Payout pay_")
        assert await _payout_lines(page) == preview_lines
        async with page.expect_download() as download_info:
            await page.click("#csv-link")
        download = await download_info.value
        csv_text = Path(await download.path()).read_text()
        assert csv_text == preview_csv.strip("\n") + "\n"
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert {r["display_name"] for r in rows} >= {"Sam"}
        assert sum(int(r["amount"].replace(".", "")) for r in rows) > 0
        await page.click("text=Mark paid")
        await expect(page.locator("#payout-state")).to_contain_text("paid")
        await screenshot(page, shots, "08-payout")
        assert not [p for p in problems if "Content Security Policy" in p or "Error" in p], problems
        assert not [p for p in viewer_problems if "Content Security Policy" in p], viewer_problems
