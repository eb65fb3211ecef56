"""The host's paths through the dashboard in a real browser against a real coordinator."""

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from streamr_protocol.invite import parse_invite_link
from tests.dashboard.browser import chromium, screenshot
from tests.fixtures.coordinator import RunningCoordinator, run_coordinator
from tests.fixtures.origin import live_origin

pytestmark = pytest.mark.slow


def _shots(artifacts_dir: Path) -> Path:
    return artifacts_dir / "screenshots" / "dashboard"


async def _sign_in_with_link(page: Page, coord: RunningCoordinator) -> None:
    link = coord.cli("dashboard-link").stdout.strip().splitlines()[-1]
    assert link.startswith(coord.url + "/login/")
    await page.goto(link)
    await page.click("#continue")
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
