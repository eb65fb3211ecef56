"""Every dashboard page renders with data, and its forms change what they say."""

import html
import re

import pytest
from sqlalchemy import select

from coordinator_service.services.clock import utcnow
from coordinator_service.services.nodes import PRIVATE_ADDRESS_FIX
from coordinator_service.storage.models import Invite, Node, Probe, Stream
from streamr_protocol.invite import parse_invite_link
from tests.dashboard.conftest import PUBLIC_URL, Dash
from tests.dashboard.seed import seed


async def _seeded(dash: Dash, nodes: int = 20) -> None:
    async with dash.db() as db:
        await seed(db, nodes=nodes)
    await dash.sign_in()


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_overview_shows_live_figures_and_24h_charts(dash: Dash) -> None:
    await _seeded(dash, nodes=20)
    page = await dash.client.get("/")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'id="fig-streams-live">1<', html)
    # 20 nodes: 2 flagged (3, 13), 2 silent (5, 15), 1 banned (7): 15 healthy and relaying
    assert re.search(r'id="fig-nodes-relaying">15<', html)
    assert ">15 healthy<" in html and ">2 flagged<" in html and ">1 banned<" in html
    assert ">2 silent<" in html
    assert html.count('<svg class="chart"') == 2
    assert '<title id="probes-per-hour-t">Probes per hour</title>' in html


async def test_overview_of_an_empty_coordinator_invites_adding_a_stream(dash: Dash) -> None:
    await dash.sign_in()
    page = await dash.client.get("/")
    assert page.status_code == 200
    assert "No streams yet." in page.text


async def test_add_edit_and_pause_a_stream(dash: Dash) -> None:
    await dash.sign_in()
    csrf = await dash.csrf("/streams")
    added = await dash.client.post(
        "/streams",
        data={
            "csrf_token": csrf,
            "name": "show",
            "origin_url": "http://127.0.0.1:8080/live/show.m3u8",
            "pool_per_hour": "2.50",
            "currency": "usd",
        },
    )
    assert added.status_code == 303
    page = await dash.client.get(added.headers["location"])
    assert "Stream added." in page.text and "2.50 USD" in page.text
    edited = await dash.client.post(
        "/streams/show",
        data={
            "csrf_token": csrf,
            "origin_url": "http://127.0.0.1:8080/live/other.m3u8",
            "pool_per_hour": "3.05",
            "currency": "USD",
            "action": "save",
        },
    )
    assert edited.status_code == 303
    paused = await dash.client.post("/streams/show", data={"csrf_token": csrf, "action": "pause"})
    assert paused.status_code == 303
    async with dash.db() as db:
        stream = await db.scalar(select(Stream).where(Stream.name == "show"))
    assert stream is not None
    assert (stream.pool_per_hour_minor, stream.paused) == (305, True)
    assert stream.origin_url == "http://127.0.0.1:8080/live/other.m3u8"


async def test_bad_stream_input_gets_a_one_line_error(dash: Dash) -> None:
    await dash.sign_in()
    csrf = await dash.csrf("/streams")
    cases = [
        (
            {"name": "bad name!", "origin_url": "http://x/live/a.m3u8", "pool_per_hour": "1"},
            "not allowed",
        ),
        ({"name": "ok", "origin_url": "ftp://x/a", "pool_per_hour": "1"}, "http(s) URL"),
        (
            {"name": "ok", "origin_url": "http://x/a.m3u8", "pool_per_hour": "1.234"},
            "more decimals",
        ),
        ({"name": "ok", "origin_url": "http://x/a.m3u8", "pool_per_hour": "-1"}, "positive amount"),
    ]
    for fields, expected in cases:
        response = await dash.client.post("/streams", data={"csrf_token": csrf, **fields})
        assert response.status_code == 400, fields
        error = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
        assert error and expected in html.unescape(error.group(1)), (fields, error)
    async with dash.db() as db:
        assert (await db.scalars(select(Stream))).all() == []


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_nodes_page_lists_states_and_filters(dash: Dash) -> None:
    await _seeded(dash, nodes=20)
    page = await dash.client.get("/nodes")
    assert page.status_code == 200
    assert page.text.count('data-node="') == 20
    assert 'data-state="flagged"' in page.text and 'class="bad"' in page.text
    flagged = await dash.client.get("/nodes?state=flagged")
    assert flagged.text.count('data-node="') == 2
    assert set(re.findall(r'data-state="(\w+)"', flagged.text)) == {"flagged"}
    search = await dash.client.get("/nodes?q=friend 0012")
    assert search.text.count('data-node="') == 1


async def test_each_state_filter_lists_exactly_the_nodes_shown_in_that_state(dash: Dash) -> None:
    await _seeded(dash, nodes=20)
    async with dash.db() as db:  # two friends left from the app, one of them flagged before
        for number, flagged in ((2, False), (3, True)):
            node = await db.scalar(select(Node).where(Node.display_name.endswith(f"{number:04d}")))
            assert node is not None
            node.status, node.flagged = "left", flagged
        await db.commit()
    shown = re.findall(r'data-state="(\w+)"', (await dash.client.get("/nodes")).text)
    assert shown.count("left") == 2
    options = re.findall(r'<option value="(\w+)"', (await dash.client.get("/nodes")).text)
    assert set(shown) <= set(options)
    for state in options:
        listed = re.findall(
            r'data-state="(\w+)"', (await dash.client.get(f"/nodes?state={state}")).text
        )
        assert listed == [state] * shown.count(state), state


async def test_node_page_loads_why_its_time_this_period_was_or_was_not_credited(
    dash: Dash,
) -> None:
    await _seeded(dash, nodes=20)
    page = (await dash.client.get("/nodes/n00003")).text
    section = re.search(r'<section class="card" id="credit-reasons" data-load="([^"]+)"', page)
    assert section, "the node page has no credit section"
    url = html.unescape(section.group(1))
    assert url.startswith("/payouts/reasons?") and "node=n00003" in url
    loaded = (await dash.client.get(url)).text
    assert re.findall(r'data-credit="(\w+)"', loaded) == ["n00003"]  # this node's line only
    assert "flagged by failed probes" in loaded  # n00003 is one of the seed's flagged nodes


async def test_nodes_page_pages_through_many_nodes(dash: Dash) -> None:
    await _seeded(dash, nodes=130)
    first = await dash.client.get("/nodes")
    assert first.text.count('data-node="') == 100 and "page 1 of 2" in first.text
    second = await dash.client.get("/nodes?page=2")
    assert second.text.count('data-node="') == 30


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_node_page_shows_probe_reasons_and_reputation_history(dash: Dash) -> None:
    await _seeded(dash, nodes=5)
    page = await dash.client.get("/nodes/n00003")
    assert page.status_code == 200
    assert "Friend 0003" in page.text
    assert 'data-state="flagged"' in page.text
    assert "segment bytes differ from the origin" in page.text
    assert '<svg class="spark"' in page.text
    assert "hash_mismatch on 3 of the last 4 probes" in page.text
    missing = await dash.client.get("/nodes/nope")
    assert missing.status_code == 404


async def test_ban_and_unban_a_node(dash: Dash) -> None:
    await _seeded(dash, nodes=3)
    csrf = await dash.csrf("/nodes")
    banned = await dash.client.post("/nodes/n00001/ban", data={"csrf_token": csrf})
    assert banned.status_code == 303
    page = await dash.client.get("/nodes/n00001")
    assert 'data-state="banned"' in page.text and "Unban this node" in page.text
    await dash.client.post("/nodes/n00001/unban", data={"csrf_token": csrf})
    async with dash.db() as db:
        node = await db.get(Node, "n00001")
    assert node is not None and node.status == "active"
    assert (
        await dash.client.post("/nodes/n00001/explode", data={"csrf_token": csrf})
    ).status_code == 404


async def test_create_invite_shows_link_and_qr_then_revoke(dash: Dash) -> None:
    await dash.sign_in()
    csrf = await dash.csrf("/invites")
    created = await dash.client.post(
        "/invites", data={"csrf_token": csrf, "uses": "3", "expires": "1d", "note": "for Sam"}
    )
    assert created.status_code == 200
    link = re.search(r'id="invite-link" readonly value="([^"]+)"', created.text)
    assert link
    parsed = parse_invite_link(link.group(1))
    assert parsed.coordinator_url == PUBLIC_URL
    assert (
        '<svg xmlns="http://www.w3.org/2000/svg"' in created.text and 'class="qr"' in created.text
    )
    assert "3 of 3" in created.text and "for Sam" in created.text
    async with dash.db() as db:
        invite = (await db.scalars(select(Invite))).one()
    revoked = await dash.client.post(f"/invites/{invite.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    page = await dash.client.get("/invites")
    assert ">revoked<" in page.text


async def test_bad_invite_input_gets_a_one_line_error(dash: Dash) -> None:
    await dash.sign_in()
    csrf = await dash.csrf("/invites")
    for fields in (
        {"uses": "0", "expires": "1d"},
        {"uses": "x", "expires": "1d"},
        {"uses": "1", "expires": "forever"},
    ):
        response = await dash.client.post("/invites", data={"csrf_token": csrf, **fields})
        assert response.status_code == 400
        assert 'class="error" role="alert"' in response.text


async def test_overview_hour_cache_gives_the_same_series_and_counts_only_new_hours(
    dash: Dash,
) -> None:
    from datetime import UTC, datetime, timedelta

    from coordinator_service.dashboard import stats
    from coordinator_service.storage.models import Probe

    now = datetime.now(UTC)
    async with dash.db() as db:
        await seed(db, nodes=30, probes_per_node=24, now=now)
    cache: dict[int, tuple[int, int, int]] = {}
    async with dash.db() as db:
        plain = await stats.overview(db, now, 75)
        cached = await stats.overview(db, now, 75, cache)
        assert (cached.probes_ok, cached.probes_failed, cached.nodes_up) == (
            plain.probes_ok,
            plain.probes_failed,
            plain.nodes_up,
        )
        assert len(cache) >= 22 and sum(plain.nodes_up) > 0 and sum(plain.probes_failed) > 0
        # a sealed hour is not counted again; the current hour is
        db.add(
            Probe(
                node_id="n00001",
                stream_id=None,
                at=now - timedelta(hours=20),
                ok=False,
                reason="timeout",
            )
        )
        db.add(Probe(node_id="n00001", stream_id=None, at=now, ok=False, reason="timeout"))
        await db.commit()
        again = await stats.overview(db, now, 75, cache)
    assert again.probes_failed[:-1] == plain.probes_failed[:-1]
    assert again.probes_failed[-1] == plain.probes_failed[-1] + 1


async def test_a_private_address_probe_says_what_to_do(dash: Dash) -> None:
    await _seeded(dash, nodes=2)
    async with dash.db() as db:
        db.add(Probe(node_id="n00001", at=utcnow(), ok=False, reason="private_address"))
        await db.commit()
    page = html.unescape((await dash.client.get("/nodes/n00001")).text)
    assert "private_address</span> at" in page and PRIVATE_ADDRESS_FIX in page
    listing = html.unescape((await dash.client.get("/nodes")).text)
    assert f'title="{PRIVATE_ADDRESS_FIX}">private_address' in listing
    assert "--allow-private-relays" in PRIVATE_ADDRESS_FIX and "--public-url" in PRIVATE_ADDRESS_FIX
