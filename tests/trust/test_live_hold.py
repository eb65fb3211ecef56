"""The origin poller cannot undo an SRS hook's verdict for a few seconds, then can."""

from datetime import timedelta

from sqlalchemy import select

from coordinator_service.prober.origin import record_live
from coordinator_service.prober.scheduler import LIVE_HOLD
from coordinator_service.storage.models import Stream, StreamLiveInterval
from tests.trust.conftest import Seeder, at

GRACE = timedelta(seconds=4)


async def test_publish_hook_stands_until_the_first_segments_then_the_poller_rules(sessions):
    async with sessions() as session:
        stream = await Seeder(session).stream()
        await record_live(session, stream.id, True, at(0), GRACE)  # on_publish: authoritative
        # Polls before SRS wrote a segment see nothing live: they must not flip the stream.
        await record_live(session, stream.id, False, at(2), GRACE, LIVE_HOLD)
        assert stream.live is True
        await record_live(session, stream.id, True, at(4), GRACE, LIVE_HOLD)
        # The publisher never came back: once the hold has passed, the poller's verdict wins.
        later = at(4) + LIVE_HOLD + timedelta(seconds=1)
        await record_live(session, stream.id, False, later, GRACE, LIVE_HOLD)
        assert stream.live is False
        await session.commit()
        spans = (await session.scalars(select(StreamLiveInterval))).all()
    assert [(s.started_at, s.ended_at) for s in spans] == [(at(0), at(4))]


async def test_unpublish_hook_is_not_undone_by_recent_segments(sessions):
    async with sessions() as session:
        stream = await Seeder(session).stream()
        await record_live(session, stream.id, True, at(0), GRACE, LIVE_HOLD)
        await record_live(session, stream.id, True, at(3), GRACE, LIVE_HOLD)
        await record_live(session, stream.id, False, at(4), GRACE)  # on_unpublish
        await record_live(session, stream.id, True, at(6), GRACE, LIVE_HOLD)  # stale index
        assert stream.live is False
        await session.commit()
        stored = await session.get(Stream, stream.id)
        spans = (await session.scalars(select(StreamLiveInterval))).all()
    assert stored is not None and stored.live is False
    assert [(s.started_at, s.ended_at) for s in spans] == [(at(0), at(3))]
