"""Debian's chromium, headless, driven by Playwright's async API (never a downloaded browser)."""

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from coordinator_service.dashboard.routes.public import hls_vendored

__all__ = ["CHROMIUM", "chromium", "ensure_hls_js", "player_state", "screenshot", "wait_player"]

REPO_ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@asynccontextmanager
async def chromium(extra_args: Sequence[str] = ()) -> AsyncIterator[Browser]:
    """Start Debian's chromium headless; skip the test (loudly) where it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(
            "!!! /usr/bin/chromium is missing: browser tests SKIPPED (apt install chromium)"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Page, folder: Path, name: str) -> Path:
    """Save a full-page screenshot as FOLDER/NAME.png and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def ensure_hls_js() -> None:
    """Run the build step that vendors hls.js when it has not run yet (scripts/test runs it)."""
    if not hls_vendored():
        subprocess.run([str(REPO_ROOT / "scripts" / "build-frontend")], check=True, timeout=300)


async def player_state(page: Page) -> dict[str, Any]:
    """The watch page's `window.streamrPlayer`, the video's current time, and `__marker` (a
    test sets it once; 0 again means the page was reloaded)."""
    state: dict[str, Any] = await page.evaluate(
        "() => ({...(window.streamrPlayer || {}),"
        " time: document.getElementById('player').currentTime, marker: window.__marker || 0})"
    )
    return state


async def wait_player(
    page: Page, check: Callable[[dict[str, Any]], bool], what: str, timeout_s: float = 40
) -> dict[str, Any]:
    """Poll the player state until `check` holds; fail saying what the player never did."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    state: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        state = await player_state(page)
        if check(state):
            return state
        await asyncio.sleep(0.5)
    raise AssertionError(f"the player never {what}: {state}")
