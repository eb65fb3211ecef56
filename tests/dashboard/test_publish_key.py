"""The host sees each stream's OBS publish key on the streams page and can replace it."""

import re

from sqlalchemy import select

from coordinator_service.services.streams import create_stream
from coordinator_service.storage.models import Stream
from tests.dashboard.conftest import Dash

KEY = re.compile(r'data-publish-key="demo">demo\?key=([A-Za-z0-9_-]{24,})</code>')


async def test_streams_page_shows_and_rotates_the_publish_key(dash: Dash) -> None:
    async with dash.db() as db:
        await create_stream(db, "demo", "http://127.0.0.1:9/live/demo.m3u8", 100, "USD")
    await dash.sign_in()
    page = await dash.client.get("/streams")
    shown = KEY.search(page.text)
    assert shown is not None
    async with dash.db() as db:
        stored = await db.scalar(select(Stream.publish_key).where(Stream.name == "demo"))
    assert shown.group(1) == stored

    rotated = await dash.client.post(
        "/streams/demo", data={"csrf_token": await dash.csrf("/streams"), "action": "rotate-key"}
    )
    assert rotated.status_code == 303
    again = KEY.search((await dash.client.get("/streams?done=key")).text)
    assert again is not None and again.group(1) != shown.group(1)
