"""A stream's pool and currency are kept with their history and integrated over the period."""

import pytest

from coordinator_service.ledger.errors import PayoutInputError
from coordinator_service.ledger.payouts import compute_payout
from coordinator_service.ledger.pool_history import record_rate
from tests.trust.conftest import T0, Seeder, at

HOUR = 3600


async def test_a_pool_change_mid_period_pays_each_hour_at_its_own_rate(sessions) -> None:
    async with sessions() as session:
        seed = Seeder(session)
        main = await seed.stream("main", pool_per_hour=3600)
        record_rate(session, main.id, T0, 3600, "USD")
        # the host raised the pool after an hour: what update_stream stores
        record_rate(session, main.id, at(HOUR), 7200, "USD")
        main.pool_per_hour_minor = 7200
        await seed.live(main, (0, 2 * HOUR))
        await seed.node("alice")
        await seed.up("alice", main, (0, 2 * HOUR))
        view = await compute_payout(session, at(0), at(2 * HOUR), "main", now=at(3 * HOUR))
    assert view.pool_minor == 3600 + 7200  # not 2 h × 7200
    assert [line.amount_minor for line in view.lines] == [10800]


async def test_usd_to_jpy_is_never_reinterpreted(sessions) -> None:
    async with sessions() as session:
        seed = Seeder(session)
        main = await seed.stream("main", pool_per_hour=600)  # 6.00 USD an hour
        record_rate(session, main.id, T0, 600, "USD")
        record_rate(session, main.id, at(2 * HOUR), 900, "JPY")  # ¥900 an hour from then on
        main.pool_per_hour_minor, main.currency = 900, "JPY"
        await seed.live(main, (0, 4 * HOUR))
        await seed.node("alice")
        await seed.up("alice", main, (0, 4 * HOUR))
        with pytest.raises(PayoutInputError, match="currency changed within the period"):
            await compute_payout(session, at(0), at(4 * HOUR), "main", now=at(5 * HOUR))
        before = await compute_payout(session, at(0), at(2 * HOUR), "main", now=at(5 * HOUR))
        after = await compute_payout(session, at(2 * HOUR), at(4 * HOUR), "main", now=at(5 * HOUR))
    assert (before.pool_minor, before.currency) == (1200, "USD")
    assert (after.pool_minor, after.currency) == (1800, "JPY")


async def test_streams_without_history_rows_use_their_current_pool(sessions) -> None:
    async with sessions() as session:
        seed = Seeder(session)
        main = await seed.stream("main", pool_per_hour=3600)
        await seed.live(main, (0, HOUR))
        await seed.node("alice")
        await seed.up("alice", main, (0, HOUR))
        view = await compute_payout(session, at(0), at(HOUR), "main", now=at(2 * HOUR))
    assert view.pool_minor == 3600
