"""The host sees a friend's name and payout handle changes, and when, on the nodes pages."""

import html
from datetime import UTC, datetime

from coordinator_service.services.nodes import update_profile
from tests.dashboard.conftest import Dash
from tests.dashboard.seed import seed


async def test_nodes_pages_show_profile_changes_with_when(dash: Dash) -> None:
    async with dash.db() as db:
        await seed(db, nodes=3)
        await update_profile(
            db, "n00001", "Renamed <b>One</b>", "@paid-here", datetime(2026, 5, 1, tzinfo=UTC)
        )
    await dash.sign_in()
    listing = await dash.client.get("/nodes")
    assert listing.text.count("data-profile-changed=") == 1
    assert 'data-profile-changed="2026-05-01T00:00:00+00:00"' in listing.text
    assert "Renamed &lt;b&gt;One&lt;/b&gt;" in listing.text

    page = html.unescape((await dash.client.get("/nodes/n00001")).text)
    assert "Name and payout handle changes" in page
    assert "Friend 0001 → Renamed <b>One</b>" in page
    assert "→ @paid-here" in page
    untouched = (await dash.client.get("/nodes/n00002")).text
    assert "Name and payout handle changes" not in untouched
