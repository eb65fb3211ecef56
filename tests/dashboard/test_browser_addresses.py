"""On a 390 px phone, in a real browser against a real coordinator: the host reads the notice
about two nodes from one address, approves them with the keyboard, then keeps one and undoes it."""

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from coordinator_service.services.clock import utcnow
from tests.dashboard.browser import chromium, screenshot
from tests.fixtures.coordinator import run_coordinator
from tests.trust.households import seed_household

pytestmark = pytest.mark.slow


async def _seed(db_file: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_file}")
    try:
        async with async_sessionmaker(engine)() as session:
            await seed_household(session, utcnow().replace(microsecond=0) - timedelta(minutes=1))
            await session.commit()
    finally:
        await engine.dispose()


async def test_the_host_answers_the_notice_on_a_phone(tmp_path: Path, artifacts_dir: Path) -> None:
    shots = artifacts_dir / "screenshots" / "dashboard"
    with run_coordinator(tmp_path) as coord:
        await _seed(coord.data_dir / "coordinator.db")
        link = coord.cli("dashboard-link").stdout.strip().splitlines()[-1]
        async with chromium() as browser:
            phone = await browser.new_page(viewport={"width": 390, "height": 844})
            await phone.goto(link)
            notice = phone.locator("#shared-addresses")
            await expect(notice).to_contain_text(
                "2 nodes from one address (203.0.113.7) on stream main (Sam, Ann): "
                "only Sam is credited."
            )
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the overview is {width} px wide on a 390 px phone"
            await screenshot(phone, shots, "12-shared-address-phone")

            approve = phone.get_by_role("button", name="Approve all 2 nodes from 203.0.113.7")
            await approve.focus()
            await phone.keyboard.press("Enter")
            await expect(notice).to_contain_text("approved, all 2 are credited (Sam, Ann)")
            await phone.get_by_role("button", name="Withdraw approval of 203.0.113.7").click()
            await phone.get_by_role("button", name="Keep one node from 203.0.113.7").click()
            await expect(notice).to_contain_text("Kept one of 2 nodes from 203.0.113.7")
            await screenshot(phone, shots, "13-shared-address-kept-one")
            await phone.get_by_role("button", name="Undo keeping one node").click()
            await expect(notice.get_by_role("button", name="Keep one node")).to_be_visible()
            width = await phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the overview is {width} px wide on a 390 px phone"
