"""Payouts from the dashboard: the preview equals the saved record and its CSV to the cent."""

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from coordinator_service.ledger.explain import explain_credit
from coordinator_service.ledger.payouts import compute_payout, get_payout, payout_csv
from coordinator_service.ledger.tally import NO_SLOT, SHARED_RELAY
from coordinator_service.storage.models import (
    NodeCapacityChange,
    Payout,
    Probe,
    Stream,
    StreamBitrateChange,
)
from tests.dashboard.conftest import Dash
from tests.dashboard.seed import seed

NOW = datetime.now(UTC).replace(microsecond=0)


def _period(hours: int = 24) -> dict[str, str]:
    top = NOW.replace(minute=0, second=0)
    return {
        "period_from": (top - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
        "period_to": top.strftime("%Y-%m-%dT%H:%M"),
        "stream": "main",
    }


async def _seeded(dash: Dash, nodes: int = 12) -> str:
    async with dash.db() as db:
        await seed(db, nodes=nodes, now=NOW)
    await dash.sign_in()
    return await dash.csrf("/payouts")


def _lines(html: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'data-line="([^"]+)">.*?data-seconds="(\d+)".*?data-amount="([^"]+)"', html, re.S
    )


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_preview_then_save_stores_exactly_what_was_previewed(dash: Dash) -> None:
    csrf = await _seeded(dash)
    preview = await dash.client.post("/payouts/preview", data={"csrf_token": csrf, **_period()})
    assert preview.status_code == 200, preview.text
    previewed = _lines(preview.text)
    assert len(previewed) >= 5
    csv_preview = re.search(
        r'<pre class="csv" id="csv-preview" tabindex="0">(.*?)</pre>', preview.text, re.S
    )
    assert csv_preview
    digest = re.search(r'name="preview_digest" value="([0-9a-f]{64})"', preview.text)
    assert digest
    async with dash.db() as db:
        assert await db.scalar(select(func.count()).select_from(Payout)) == 0
    saved = await dash.client.post(
        "/payouts", data={"csrf_token": csrf, **_period(), "preview_digest": digest.group(1)}
    )
    assert saved.status_code == 303, saved.text
    payout_id = saved.headers["location"].rsplit("/", 1)[1]
    detail = await dash.client.get(f"/payouts/{payout_id}")
    assert _lines(detail.text) == previewed
    download = await dash.client.get(f"/payouts/{payout_id}.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert f'filename="{payout_id}.csv"' in download.headers["content-disposition"]
    async with dash.db() as db:
        view = await get_payout(db, payout_id)
    assert download.text == payout_csv(view)
    assert download.text == html.unescape(csv_preview.group(1))
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["node_id"], r["credited_seconds"], r["amount"]) for r in rows] == previewed
    assert sum(line.amount_minor for line in view.lines) == view.pool_minor


async def _reasons(dash: Dash, csrf: str) -> dict[str, str]:
    """Follow the preview's link to the credit reasons; return each node's row."""
    preview = await dash.client.post("/payouts/preview", data={"csrf_token": csrf, **_period()})
    link = re.search(r'data-load="([^"]+)"', preview.text)
    assert link
    page = await dash.client.get(html.unescape(link.group(1)))
    assert page.status_code == 200
    return dict(re.findall(r'data-credit="(n\d+)">(.*?)</tr>', page.text, re.S))


async def test_preview_explains_why_time_was_not_credited(dash: Dash) -> None:
    csrf = await _seeded(dash)
    rows = await _reasons(dash, csrf)
    assert "flagged by failed probes" in rows["n00003"]
    assert "relaying while the stream was not live" in rows["n00001"]
    assert "banned by the host" in rows["n00007"]
    assert not any("same relay address" in row for row in rows.values())


async def test_preview_names_the_upload_limit_a_node_without_a_viewer_slot_needs(
    dash: Dash,
) -> None:
    csrf = await _seeded(dash, nodes=4)
    start = datetime.fromisoformat(_period()["period_from"]).replace(tzinfo=UTC)
    async with dash.db() as db:
        sid = await db.scalar(select(Stream.id).where(Stream.name == "main"))
        assert sid is not None
        db.add(StreamBitrateChange(stream_id=sid, slot_kbit=2_450, started_at=start))
        db.add(NodeCapacityChange(node_id="n00001", capacity_kbit=500, started_at=start))
        db.add(NodeCapacityChange(node_id="n00002", capacity_kbit=9_000, started_at=start))
        await db.commit()
    rows = await _reasons(dash, csrf)
    assert NO_SLOT in html.unescape(rows["n00001"]), rows["n00001"]
    assert "an upload limit of at least 2.5 Mbit/s gives one" in rows["n00001"]
    assert NO_SLOT not in html.unescape(rows["n00002"])


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_credit_report_agrees_with_the_ledger_on_every_node(dash: Dash) -> None:
    await _seeded(dash, nodes=40)
    top = NOW.replace(minute=0, second=0)
    for hours in (1, 6, 24):
        start = top - timedelta(hours=hours)
        async with dash.db() as db:
            view = await compute_payout(db, start, top, "main", now=NOW, dry_run=True)
            credited = {line.node_id: line.credited_seconds for line in view.lines}
            report = await explain_credit(db, start, top, "main")
        assert {r.node_id: r.credited_seconds for r in report if r.credited_seconds} == credited
        for row in report:
            assert row.up_seconds - sum(s for _, s in row.lost) == row.credited_seconds, row
            assert not row.shared_with


async def test_save_refuses_when_the_numbers_changed_since_the_preview(dash: Dash) -> None:
    csrf = await _seeded(dash)
    refused = await dash.client.post(
        "/payouts", data={"csrf_token": csrf, **_period(), "preview_digest": "0" * 64}
    )
    assert refused.status_code == 409
    assert "The numbers changed since the preview" in refused.text
    async with dash.db() as db:
        assert await db.scalar(select(func.count()).select_from(Payout)) == 0


async def test_bad_periods_get_a_one_line_error(dash: Dash) -> None:
    csrf = await _seeded(dash, nodes=2)
    future = (NOW + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    cases = [
        ({**_period(), "period_from": "yesterday"}, "is not a time"),
        ({**_period(), "period_to": future}, "the period must be over"),
        ({**_period(), "period_from": _period()["period_to"]}, "must end after it starts"),
        ({**_period(), "stream": "nope"}, "no stream named"),
    ]
    reasons = await dash.client.get("/payouts/reasons", params={**_period(), "period_to": "soon"})
    assert reasons.status_code == 400 and "is not a time" in reasons.text
    for fields, expected in cases:
        response = await dash.client.post("/payouts/preview", data={"csrf_token": csrf, **fields})
        assert response.status_code == 400
        error = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
        assert error and expected in error.group(1), (fields, error)


async def test_mark_paid_is_idempotent_and_overlaps_are_refused(dash: Dash) -> None:
    csrf = await _seeded(dash, nodes=4)
    preview = await dash.client.post("/payouts/preview", data={"csrf_token": csrf, **_period()})
    digest = re.search(r'name="preview_digest" value="([0-9a-f]{64})"', preview.text)
    assert digest
    saved = await dash.client.post(
        "/payouts", data={"csrf_token": csrf, **_period(), "preview_digest": digest.group(1)}
    )
    location = saved.headers["location"]
    for _ in range(2):
        paid = await dash.client.post(f"{location}/paid", data={"csrf_token": csrf})
        assert paid.status_code == 303
    detail = await dash.client.get(location)
    assert re.search(r'id="payout-state">paid ', detail.text)
    listing = await dash.client.get("/payouts")
    assert ">paid<" in listing.text
    again = await dash.client.post("/payouts/preview", data={"csrf_token": csrf, **_period()})
    assert again.status_code == 400 and "already covers part of this period" in again.text
    voided = await dash.client.post(f"{location}/void", data={"csrf_token": csrf})
    assert voided.status_code == 409 and "already paid" in voided.text
    assert (await dash.client.get("/payouts/pay_nope")).status_code == 404
    assert (await dash.client.get("/payouts/pay_nope.csv")).status_code == 404


async def test_preview_names_a_node_sharing_another_nodes_relay(dash: Dash) -> None:
    csrf = await _seeded(dash, nodes=4)
    async with dash.db() as db:
        # both were probed at one relay address in the period (the URL text does not matter)
        await db.execute(
            update(Probe)
            .where(Probe.node_id.in_(["n00001", "n00002"]))
            .values(address="127.0.0.1:20001")
        )
        await db.commit()
    rows = await _reasons(dash, csrf)
    for node, other in (("n00001", "Friend 0002"), ("n00002", "Friend 0001")):
        assert f"shares relay address 127.0.0.1:20001 with {other}" in rows[node], rows
    preview = await dash.client.post("/payouts/preview", data={"csrf_token": csrf, **_period()})
    credited = re.findall(r'data-line="(n0000[12])"', preview.text)
    assert len(credited) == 1, "the ledger credits one of the two"
    loser = "n00002" if credited == ["n00001"] else "n00001"
    assert SHARED_RELAY in rows[loser] and SHARED_RELAY not in rows[credited[0]]
    period = _period()
    start = datetime.fromisoformat(period["period_from"]).replace(tzinfo=UTC)
    end = datetime.fromisoformat(period["period_to"]).replace(tzinfo=UTC)
    async with dash.db() as db:
        report = await explain_credit(db, start, end, None)
    for row in report:  # every second up is credited or taken by a named rule
        assert row.up_seconds - sum(s for _, s in row.lost) == row.credited_seconds, row
