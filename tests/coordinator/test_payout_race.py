"""Mark-paid and void racing on PostgreSQL: each payout ends paid or voided, never both."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.coordinator.conftest import Api

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_mark_paid_and_void_racing_leave_exactly_one_outcome(api: Api) -> None:
    await api.create_stream("race")
    ids = []
    for hour in range(60):
        start = T0 + timedelta(hours=hour)
        body = {
            "period_from": start.isoformat(),
            "period_to": (start + timedelta(hours=1)).isoformat(),
            "stream": "race",
        }
        made = await api.client.post("/api/v1/admin/payouts/compute", json=body, headers=api.admin)
        assert made.status_code == 201, made.text
        ids.append(made.json()["payout_id"])

    async def act(payout_id: str, verb: str) -> tuple[str, str, int]:
        answer = await api.client.post(
            f"/api/v1/admin/payouts/{payout_id}/{verb}", headers=api.admin
        )
        return payout_id, verb, answer.status_code

    calls = [act(pid, verb) for pid in ids for verb in ("mark-paid", "void")]
    results = await asyncio.gather(*calls)
    statuses: dict[str, dict[str, int]] = {}
    for payout_id, verb, code in results:
        statuses.setdefault(payout_id, {})[verb] = code
    listed = {
        p["payout_id"]: p
        for p in (await api.client.get("/api/v1/admin/payouts", headers=api.admin)).json()
    }
    both = [pid for pid in ids if listed[pid]["paid_at"] and listed[pid]["voided_at"]]
    assert both == [], f"{len(both)} of 60 payouts are both paid and voided"
    for payout_id in ids:
        paid = listed[payout_id]["paid_at"] is not None
        voided = listed[payout_id]["voided_at"] is not None
        assert paid != voided, payout_id
        winner, loser = ("mark-paid", "void") if paid else ("void", "mark-paid")
        assert statuses[payout_id] == {winner: 200, loser: 409}, statuses[payout_id]
    # a paid period can never be computed again
    paid_hours = [h for h, pid in enumerate(ids) if listed[pid]["paid_at"]]
    if paid_hours:
        start = T0 + timedelta(hours=paid_hours[0])
        again = await api.client.post(
            "/api/v1/admin/payouts/compute",
            json={
                "period_from": start.isoformat(),
                "period_to": (start + timedelta(hours=1)).isoformat(),
                "stream": "race",
            },
            headers=api.admin,
        )
        assert again.status_code == 409
