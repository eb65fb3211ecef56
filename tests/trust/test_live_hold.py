"""SRS hooks are authoritative: the origin poller never overrides a fresher hook."""

from sqlalchemy import select

from coordinator_service.prober.origin import (
    OriginSegment,
    StreamIndex,
    record_hook,
    record_origin,
)
from coordinator_service.storage.models import Stream, StreamLiveInterval
from tests.trust.conftest import Seeder, at

T = at(0).timestamp()


def grown(index: StreamIndex, seconds: float) -> None:
    """The current session's playlist grew at T + seconds (as the watcher records it)."""
    session = index.current
    assert session is not None
    if session.started_at is None:
        session.started_at = T + seconds - 2
    session.first_seen_at = session.first_seen_at or T + seconds
    session.last_seen_at = T + seconds


def test_publish_hook_stands_until_the_playlist_stays_still_too_long() -> None:
    index = StreamIndex("main")
    index.note_hook(True, T)  # on_publish; SRS writes the first segment ~2 s later
    index.read_at = T + 1
    assert index.is_live(T + 1) and index.is_live(T + index.stale_after)
    assert index.live_span() == (T, T)
    grown(index, 2.1)
    assert index.live_span() == (T, T + 2.1)
    # the publisher never sent more: once a read shows it still for a few targets, off
    index.read_at = T + 2.1 + index.stale_after - 0.1
    assert index.is_live(T + 30)  # no later read: nothing against the hook
    index.read_at = T + 2.1 + index.stale_after + 0.1
    assert not index.is_live(T + 30)


def test_unpublish_hook_is_not_undone_by_the_old_playlist_only_by_a_later_session() -> None:
    index = StreamIndex("main")
    index.note_hook(True, T)
    grown(index, 2)
    grown(index, 4)
    index.note_hook(False, T + 5)  # on_unpublish
    grown(index, 5.5)  # SRS flushes the last (short) segment just after
    assert not index.is_live(T + 6)
    # no hook for the next publish (lost): a session that began after the unpublish is live
    index.open_session(None)
    grown(index, 12)
    assert index.current is not None and index.current.started_at == T + 10
    assert index.is_live(T + 12.5)


def test_restart_grace_judges_nodes_on_the_current_session() -> None:
    index = StreamIndex("main")
    index.note_hook(True, T)
    grown(index, 2)
    old = OriginSegment("a" * 64, T + 2, 2.0, session=index.current.number)  # type: ignore[union-attr]
    index.note_hook(False, T + 4)
    index.note_hook(True, T + 64)  # back after a minute
    # before the new session's first segment, and `limit` after it, the old one is fine
    assert index.staleness(old, 0.0, 8.0, T + 65) is None
    grown(index, 66)
    assert index.staleness(old, 0.0, 8.0, T + 73) is None
    assert index.restart_grace_until(8.0) == T + 74
    assert "publish session" in (index.staleness(old, 0.0, 8.0, T + 75) or "")
    new = OriginSegment("b" * 64, T + 66, 2.0, session=index.current.number)  # type: ignore[union-attr]
    assert index.staleness(new, 0.0, 8.0, T + 73) is None
    assert "stale by" in (index.staleness(new, 0.0, 8.0, T + 75) or "")


async def test_hooks_open_and_close_the_interval_and_a_stale_poll_writes_nothing(sessions):
    async with sessions() as session:
        stream = await Seeder(session).stream()
        await record_hook(session, stream.id, True, at(0))
        # a poll that read the database before the hook must not undo it
        await record_origin(session, stream.id, False, at(1), None, hook_seen=None)
        assert stream.live is True
        await record_origin(session, stream.id, True, at(3), (T, T + 2.5), hook_seen=at(0))
        await record_hook(session, stream.id, False, at(5))
        await record_origin(session, stream.id, True, at(6), (T, T + 5.5), hook_seen=at(0))
        assert stream.live is False
        await session.commit()
        stored = await session.get(Stream, stream.id)
        spans = (await session.scalars(select(StreamLiveInterval))).all()
    assert stored is not None and stored.live is False and stored.hook_live is False
    assert [(s.started_at, s.ended_at) for s in spans] == [(at(0), at(5))]


async def test_poller_spans_of_two_sessions_stay_apart(sessions):
    async with sessions() as session:
        stream = await Seeder(session).stream()
        await record_origin(session, stream.id, True, at(4), (T + 1, T + 4))
        await record_origin(session, stream.id, True, at(9), (T + 1, T + 9))
        await record_origin(session, stream.id, False, at(16), None)
        await record_origin(session, stream.id, True, at(24), (T + 20, T + 24))
        await session.commit()
        spans = (
            await session.scalars(select(StreamLiveInterval).order_by(StreamLiveInterval.id))
        ).all()
    assert [(s.started_at, s.ended_at) for s in spans] == [(at(1), at(9)), (at(20), at(24))]
