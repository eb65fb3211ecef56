"""A stream's currency cannot change while its unpaid period has credited time."""

from datetime import timedelta

from sqlalchemy import select

from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import (
    Node,
    Stream,
    StreamLiveInterval,
    StreamPoolChange,
    UptimeInterval,
)
from tests.coordinator.conftest import Api


async def _credit_recent_time(api: Api, stream_name: str) -> None:
    """A node relayed the live stream for the last ten minutes (as heartbeats would record)."""
    node = await api.register()
    now = utcnow()
    async with api.ctx.db.transaction() as session:
        stream_id = await session.scalar(select(Stream.id).where(Stream.name == stream_name))
        assert stream_id is not None
        start, end = now - timedelta(minutes=10), now - timedelta(minutes=1)
        session.add(StreamLiveInterval(stream_id=stream_id, started_at=start, ended_at=end))
        session.add(
            UptimeInterval(
                node_id=node["node_id"], stream_id=stream_id, started_at=start, ended_at=end
            )
        )
        await session.commit()
        assert await session.get(Node, node["node_id"]) is not None


async def test_currency_change_is_refused_while_time_is_credited(api: Api) -> None:
    await api.create_stream("usd", pool_per_hour_minor=600, currency="USD")
    await _credit_recent_time(api, "usd")
    refused = await api.client.patch(
        "/api/v1/admin/streams/usd", json={"currency": "JPY"}, headers=api.admin
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "currency_in_use"
    assert "compute its payout" in refused.json()["error"]["message"]
    stream = await api.client.get("/api/v1/admin/streams/usd", headers=api.admin)
    assert stream.json()["currency"] == "USD"


async def test_pool_changes_and_a_currency_change_without_credit_are_kept_as_history(
    api: Api,
) -> None:
    await api.create_stream("fresh", pool_per_hour_minor=600, currency="USD")
    changed = await api.client.patch(
        "/api/v1/admin/streams/fresh",
        json={"currency": "EUR", "pool_per_hour_minor": 500},
        headers=api.admin,
    )
    assert changed.status_code == 200, changed.text
    again = await api.client.patch(
        "/api/v1/admin/streams/fresh", json={"pool_per_hour_minor": 700}, headers=api.admin
    )
    assert again.status_code == 200
    async with api.ctx.db.session() as session:
        rows = (
            await session.execute(
                select(StreamPoolChange.pool_per_hour_minor, StreamPoolChange.currency)
                .join(Stream, Stream.id == StreamPoolChange.stream_id)
                .where(Stream.name == "fresh")
                .order_by(StreamPoolChange.effective_from, StreamPoolChange.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [(600, "USD"), (500, "EUR"), (700, "EUR")]
