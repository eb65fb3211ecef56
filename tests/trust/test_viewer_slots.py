"""No viewer slot, no credit: a node whose upload cap is under the stream's bitrate earns nothing.

The rule (`ledger/slots.py`) on its own, the slot bitrate measured at a real ffmpeg origin
(`prober/bitrate.py`), then the ledger, explain and routing on real SQLite and PostgreSQL.
"""

import asyncio
from datetime import timedelta

import httpx

from coordinator_service.ledger.explain import explain_credit
from coordinator_service.ledger.slots import Level, NoSlot, no_slot_spans
from coordinator_service.ledger.tally import NO_SLOT, UNVERIFIED, CreditTrace, tally
from coordinator_service.prober.bitrate import (
    current_slot_kbit,
    moved,
    record_slot_kbit,
    slot_kbit,
)
from coordinator_service.prober.origin import OriginSegment, OriginWatcher, StreamIndex
from coordinator_service.prober.routing import VIEWER_KBIT, eligible_relays
from coordinator_service.storage.models import NodeCapacityChange, Probe, StreamBitrateChange
from streamr_protocol.hls import Variant
from tests.fixtures.origin import live_origin
from tests.trust.conftest import Seeder, at

# --- the rule --------------------------------------------------------------------------------


def test_no_history_means_a_slot_and_a_cap_under_the_bitrate_means_none():
    rate = [Level(100, 4000)]
    assert no_slot_spans([], rate, 1000) == []  # a node from before the rule
    assert no_slot_spans([Level(0, 500)], [], 1000) == []  # a stream never measured
    assert no_slot_spans([Level(0, 500)], rate, 1000) == [NoSlot((100, 1000), 4000)]
    assert no_slot_spans([Level(0, 4000)], rate, 1000) == []  # exactly one slot is a slot


def test_raising_the_cap_gives_a_slot_from_then_on_and_later_changes_do_not_count():
    caps = [Level(0, 500), Level(300, 8000), Level(600, 1000), Level(1000, 100)]
    rates = [Level(0, 2000), Level(700, 900), Level(2000, 50_000)]
    assert no_slot_spans(caps, rates, 1000) == [NoSlot((0, 300), 2000), NoSlot((600, 700), 2000)]
    assert no_slot_spans(caps, rates, 650) == [NoSlot((0, 300), 2000), NoSlot((600, 650), 2000)]
    # two values set in one second: the later one (stored order) holds
    assert no_slot_spans([Level(0, 500), Level(0, 9000)], rates, 100) == []


def test_a_slot_is_the_lowest_variant_measured_else_its_bandwidth():
    index = StreamIndex("main")
    assert slot_kbit(index) is None
    index.variants = (Variant("http://o/hi.m3u8", 3_000_000), Variant("http://o/lo.m3u8", 800_001))
    assert slot_kbit(index) == 801  # nothing fetched yet: the master's lowest BANDWIDTH
    for sequence in range(3):
        index.add(
            ("/hi", 1, sequence), OriginSegment(f"h{sequence}", 0.0, 2.0, 1, sequence, 1_000_000)
        )
        index.add(
            ("/lo", 1, sequence), OriginSegment(f"l{sequence}", 0.0, 2.0, 1, sequence, 250_000)
        )
    assert slot_kbit(index) == 1000  # 250 kB × 8 / 2 s = 1000 kbit/s, under its 800 announced
    assert moved(None, 1000) and moved(1000, 1101) and not moved(1000, 1100)


async def test_the_slot_of_a_real_two_variant_origin_is_its_lower_variant():
    async with live_origin("abr", abr=True) as origin, httpx.AsyncClient(timeout=5) as client:
        watcher = OriginWatcher(client)
        index = await watcher.poll("abr", origin.url("abr"))
        for _ in range(100):
            if len(index.recent) >= 6:
                break
            await asyncio.sleep(0.2)
            index = await watcher.poll("abr", origin.url("abr"))
    rates: dict[str, tuple[int, float]] = {}
    for (variant, _, _), segment in index.recent.items():
        size, seconds = rates.get(variant, (0, 0.0))
        rates[variant] = (size + segment.size, seconds + segment.duration)
    measured = sorted(size * 8 / seconds / 1000 for size, seconds in rates.values())
    assert len(measured) == 2
    kbit = slot_kbit(index)
    assert kbit is not None
    # the 120k variant (plus its audio), well under the 300k one
    assert 40 < kbit < measured[1] and kbit < 400


# --- the ledger, explain, routing on real databases ---------------------------------------------


async def _stream_at_4_mbit(seed: Seeder):
    main = await seed.stream("main")
    await seed.live(main, (0, 1000))
    seed.session.add(StreamBitrateChange(stream_id=main.id, slot_kbit=4000, started_at=at(0)))
    return main


def _capacity(seed: Seeder, node_id: str, seconds: int, kbit: int) -> None:
    seed.session.add(
        NodeCapacityChange(node_id=node_id, capacity_kbit=kbit, started_at=at(seconds))
    )


async def test_a_node_under_the_bitrate_earns_nothing_for_that_time_and_is_told_why(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        main = await _stream_at_4_mbit(seed)
        for node_id in ("wide", "narrow", "raises", "old"):
            await seed.node(node_id)
            await seed.up(node_id, main, (0, 1000))
        _capacity(seed, "wide", 0, 10_000)
        _capacity(seed, "narrow", 0, 500)  # --upload-cap 0.5 relaying a 4 Mbit stream
        _capacity(seed, "raises", 0, 3000)
        _capacity(seed, "raises", 400, 5000)  # raised mid-period: credited from then on
        await session.flush()  # "old" has no capacity history: from before the rule, a slot
        trace = CreditTrace()
        counted = await tally(session, at(0), at(1000), [main.id], trace)
        explained = {
            line.node_id: line for line in await explain_credit(session, at(0), at(1000), None)
        }
    assert counted.streams[0].credited == {"wide": 1000, "raises": 600, "old": 1000}
    assert trace.lost["narrow"] == {NO_SLOT: 1000} and trace.lost["raises"] == {NO_SLOT: 400}
    assert explained["narrow"].credited_seconds == 0
    assert explained["narrow"].lost == [(NO_SLOT, 1000)]
    assert explained["narrow"].slot_needs_kbit == 4000
    assert explained["raises"].lost == [(NO_SLOT, 400)]
    assert explained["wide"].slot_needs_kbit is None and explained["wide"].lost == []


async def test_no_slot_is_named_before_the_failed_checks_it_causes(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        main = await _stream_at_4_mbit(seed)
        for node_id in ("narrow", "raises"):
            await seed.node(node_id)
            await seed.up(node_id, main, (0, 1000))
            await seed.took_url(node_id, 0, f"http://10.0.0.6:{8700 + len(node_id)}")
            await seed.probe(node_id, 300)  # unverified until then
            await seed.probe(node_id, 800, "timeout")  # and after this
        _capacity(seed, "narrow", 0, 500)
        _capacity(seed, "raises", 0, 500)
        _capacity(seed, "raises", 500, 5000)
        await session.flush()
        trace = CreditTrace()
        counted = await tally(session, at(0), at(1000), [main.id], trace)
    assert counted.streams[0].credited == {"raises": 300}  # 500-800: a slot, verified
    # capped under the bitrate, its relay cannot keep up with a check either: the cap is the
    # cause, and what the friend can fix; each second is taken once
    assert trace.lost["narrow"] == {NO_SLOT: 1000}
    assert trace.lost["raises"] == {NO_SLOT: 500, UNVERIFIED: 200}
    assert trace.slot_needs_kbit == {"narrow": 4000, "raises": 4000}


async def test_routing_counts_slots_at_the_streams_bitrate_and_gives_none_under_it(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        stream = await seed.stream()
        stream.live = True
        now = at(600)
        for node_id, kbit in (("narrow", 3000), ("wide", 9000)):
            await seed.node(node_id, last_heartbeat_at=now, capacity_kbit=kbit, viewers=0)
            await seed.up(node_id, stream, (500, 600))
            session.add(Probe(node_id=node_id, at=at(60), ok=True, reason="ok"))
        await session.flush()
        _, before = await eligible_relays(session, "main", now, timedelta(seconds=60))
        assert await current_slot_kbit(session, stream.id) is None
        assert await record_slot_kbit(session, stream.id, 4000, at(100)) == 4000
        assert await record_slot_kbit(session, stream.id, 4200, at(200)) == 4000  # within 10 %
        await session.flush()
        _, after = await eligible_relays(session, "main", now, timedelta(seconds=60))
        assert await current_slot_kbit(session, stream.id) == 4000
    # unmeasured: VIEWER_KBIT per slot; measured 4 Mbit: 9000 // 4000 = 2 slots, 3000 none
    weights = {c.node_id: c.weight for c in before}
    assert weights == {"narrow": 3000 // VIEWER_KBIT, "wide": 9000 // VIEWER_KBIT}
    assert [(c.node_id, c.weight) for c in after] == [("wide", 2)]
