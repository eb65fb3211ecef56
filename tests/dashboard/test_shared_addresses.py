"""The dashboard asks the host about nodes credited from one address: approve all, keep one,
undo; the payout preview pays what was decided (one person, one share, unless approved)."""

import html
import re
from datetime import timedelta

from sqlalchemy import select

from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import Stream
from tests.dashboard.conftest import Dash
from tests.trust.conftest import T0, Seeder
from tests.trust.households import HOUR, HOUSE, seed_household

END = utcnow().replace(second=0, microsecond=0)


async def _seeded(dash: Dash) -> str:
    async with dash.db() as db:
        await seed_household(db, END)
        await db.commit()
    await dash.sign_in()
    return await dash.csrf("/nodes")


def _notice(page: str) -> str:
    found = re.search(
        r'<section class="card shared" id="shared-addresses".*?</section>', page, re.S
    )
    assert found, "no notice about nodes from one address"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(0))).split())


async def _decide(dash: Dash, csrf: str, action: str, back: str = "nodes", **fields: str):
    data = {"csrf_token": csrf, "stream": "main", "address": HOUSE, "action": action, "back": back}
    return await dash.client.post("/nodes/addresses", data=data | fields)


async def _paid_seconds(dash: Dash, csrf: str) -> dict[str, int]:
    period = {
        "period_from": (END - timedelta(seconds=HOUR)).strftime("%Y-%m-%dT%H:%M"),
        "period_to": END.strftime("%Y-%m-%dT%H:%M"),
        "stream": "main",
    }
    preview = await dash.client.post("/payouts/preview", data={"csrf_token": csrf, **period})
    assert preview.status_code == 200, preview.text
    lines = re.findall(r'data-line="([^"]+)">.*?data-seconds="(\d+)"', preview.text, re.S)
    return {node_id: int(seconds) for node_id, seconds in lines}


async def test_the_host_approves_keeps_one_and_undoes_from_the_dashboard(dash: Dash) -> None:
    csrf = await _seeded(dash)
    asked = (
        "2 nodes from one address (203.0.113.7) on stream main (Sam, Ann): only Sam is credited."
    )
    for path in ("/", "/nodes"):
        notice = _notice((await dash.client.get(path)).text)
        assert asked in notice, notice
        assert "one person gets one share" in notice
        assert "Approve all 2" in notice and "Keep one" in notice and "Withdraw" not in notice
    assert await _paid_seconds(dash, csrf) == {"sam": 3590, "bob": 3590}
    # app.js's 5-s refresh of the live regions skips it (it costs a tally)
    refresh = await dash.client.get("/", headers={"X-Live-Refresh": "1"})
    assert refresh.status_code == 200 and "shared-addresses" not in refresh.text

    approved = await _decide(dash, csrf, "approve", back="overview", max_nodes="2")
    assert approved.status_code == 303
    assert approved.headers["location"] == "/#shared-addresses"
    notice = _notice((await dash.client.get("/")).text)
    assert "on stream main: approved, all 2 are credited (Sam, Ann)" in notice
    assert "Withdraw approval" in notice and "Approve all" not in notice
    assert await _paid_seconds(dash, csrf) == {"sam": 3590, "ann": 3590, "bob": 3590}

    kept = await _decide(dash, csrf, "keep_one")
    assert kept.headers["location"] == "/nodes#shared-addresses"
    page = (await dash.client.get("/nodes")).text
    assert 'data-shared-state="kept_one"' in page
    notice = _notice(page)
    assert (
        "Kept one of 2 nodes from 203.0.113.7 on stream main (Sam, Ann): only Sam is credited."
        in notice
    )
    assert "Undo" in notice and "Approve all" not in notice
    assert await _paid_seconds(dash, csrf) == {"sam": 3590, "bob": 3590}

    undone = await _decide(dash, csrf, "withdraw")
    assert undone.status_code == 303
    assert asked in _notice((await dash.client.get("/nodes")).text)


async def test_an_approval_for_fewer_than_are_there_asks_again(dash: Dash) -> None:
    csrf = await _seeded(dash)
    await _decide(dash, csrf, "approve", max_nodes="2")
    async with dash.db() as db:  # a third node of the household joins the stream
        seed = Seeder(db)
        stream = await db.scalar(select(Stream).where(Stream.name == "main"))
        stop = int((END - T0).total_seconds())
        await seed.node("cat", relay=f"http://{HOUSE}:9100", next_probe_at=END + timedelta(hours=1))
        await seed.took_url("cat", stop - HOUR, f"http://{HOUSE}:9100")
        await seed.up("cat", stream, (stop - HOUR, stop))
        await seed.probe("cat", stop - HOUR + 10, address=f"{HOUSE}:9100")
        await db.commit()
    page = (await dash.client.get("/nodes")).text
    assert 'data-shared-state="pending"' in page
    notice = _notice(page)
    assert "3 nodes from one address (203.0.113.7) on stream main (Sam, Ann, Cat)" in notice
    assert "only Sam, Ann are credited." in notice
    assert "Approve all 3" in notice and "Keep one" in notice and "Withdraw approval" in notice
    await _decide(dash, csrf, "approve", max_nodes="3")
    assert await _paid_seconds(dash, csrf) == {"sam": 3590, "ann": 3590, "cat": 3590, "bob": 3590}


async def test_bad_answers_get_one_clear_line_and_change_nothing(dash: Dash) -> None:
    csrf = await _seeded(dash)
    unknown = await _decide(dash, csrf, "approve", address="198.51.100.99")
    assert unknown.status_code == 400
    error = re.search(r'<p class="error" role="alert">([^<]*)</p>', unknown.text)
    assert error and "no nodes share address 198.51.100.99 on stream main" in html.unescape(
        error.group(1)
    )
    nonsense = await _decide(dash, csrf, "approve", address="the attic")
    assert nonsense.status_code == 400 and "is not an address" in html.unescape(nonsense.text)
    assert (await _decide(dash, csrf, "ban")).status_code == 404
    assert (await _decide(dash, "not-the-token", "approve")).status_code == 403
    assert 'data-shared-state="pending"' in (await dash.client.get("/nodes")).text
