"""Relay identity and verified time in the ledger: the address probed, not the URL text.

Unit tests of the rules (`ledger/verified.py`, `prober/identity.py`), then the ledger on real
SQLite and PostgreSQL: one share per probed address (host approval for more), the after-the-period
relay URL hijack, and a hypothesis property that nothing a node says after a period changes it
(its relay URL, beats, probes, a new registration, its upload cap, or the stream's bitrate).
"""

import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from coordinator_service.ledger.tally import tally
from coordinator_service.ledger.verified import Check, UrlTaken, unverified_spans
from coordinator_service.prober.identity import address_key
from coordinator_service.storage.models import (
    AddressApproval,
    Node,
    NodeCapacityChange,
    StreamBitrateChange,
    UptimeInterval,
)
from tests.trust.conftest import Seeder, at, open_database

A_URL = "http://203.0.113.10:8430"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7:8430", "203.0.113.7"),  # a public IPv4 address is one person
        ("203.0.113.7:9000", "203.0.113.7"),  # whatever the port
        ("[2001:db8:1:2::1]:8430", "2001:db8:1:2::/64"),  # IPv6 by its /64
        ("[2001:db8:1:2:ffff::9]:1", "2001:db8:1:2::/64"),
        ("127.0.0.1:8430", "127.0.0.1:8430"),  # loopback and LAN: address and port
        ("127.0.0.1:8431", "127.0.0.1:8431"),
        ("192.168.1.20:8430", "192.168.1.20:8430"),
        ("[::1]:8430", "[::1]:8430"),
        ("[::ffff:10.0.0.2]:80", "10.0.0.2:80"),
        ("not an address", ""),
    ],
)
def test_address_keys_count_people_not_names(address, key):
    assert address_key(address) == key


def test_a_new_relay_url_is_unverified_until_a_probe_there_passes():
    checks = [
        Check(100, True, "ok", "http://old:1"),
        Check(300, True, "ok", "http://old:1"),  # started before the move: does not count
        Check(500, True, "ok", "http://new:1"),
    ]
    taken = [UrlTaken(0, "http://old:1"), UrlTaken(200, "http://new:1")]
    assert unverified_spans(checks, taken, 1000) == [(0, 100), (200, 500)]


def test_a_failed_check_stops_credit_and_a_cheat_voids_back_to_the_last_pass():
    checks = [
        Check(100, True, "ok"),
        Check(200, False, "timeout"),  # nothing verified from here to the next pass
        Check(300, True, "ok"),
        Check(400, True, "ok"),
        Check(500, False, "hash_mismatch"),  # wrong bytes: 400-500 is voided too
        Check(700, True, "ok"),
        Check(800, False, "not_owned"),  # someone else's relay: 700-800 voided, then until end
    ]
    assert unverified_spans(checks, [], 1000) == [(200, 300), (400, 1000)]
    # nothing at or after the end counts: a closed period does not see later checks
    later = [*checks[:-1], Check(1000, False, "not_owned")]
    assert unverified_spans(later, [], 1000) == [(200, 300), (400, 700)]


async def _two_friends(seed: Seeder):
    """Stream `main` live 0-1000; `alice` (A_URL) and `bob` up 0-1000, both probed fine."""
    main = await seed.stream("main", pool_per_hour=3600)
    await seed.live(main, (0, 1000))
    await seed.node("alice", relay=A_URL)
    await seed.node("bob", relay="http://198.51.100.20:8430", created_at=at(-100))
    for node_id, address in (("alice", "203.0.113.10:8430"), ("bob", "198.51.100.20:8430")):
        await seed.took_url(node_id, 0, f"http://{address}")
        await seed.up(node_id, main, (0, 1000))
        for second in (10, 400, 800):
            await seed.probe(node_id, second, address=address, relay_url=f"http://{address}")
    return main


async def test_the_relay_url_hijack_after_a_period_does_not_change_its_payout(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        main = await _two_friends(seed)
        before = await tally(session, at(0), at(1000), [main.id])
        # after the period bob points his relay URL at alice's relay and gets probed there
        await session.execute(update(Node).where(Node.id == "bob").values(relay_url=A_URL))
        await seed.took_url("bob", 1100, A_URL)
        await seed.probe("bob", 1200, address="203.0.113.10:8430", relay_url=A_URL)
        await seed.probe("alice", 1200, "not_owned", address="203.0.113.10:8430")
        after = await tally(session, at(0), at(1000), [main.id])
    assert before.streams[0].credited == after.streams[0].credited == {"alice": 990, "bob": 990}


async def test_one_share_per_probed_address_unless_the_host_approves_more(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        main = await _two_friends(seed)
        # a second relay of alice's household: same public address, another port and name
        await seed.node("alice2", relay="http://alice.example:9000")
        await seed.up("alice2", main, (0, 1000))
        for second in (20, 410):
            await seed.probe("alice2", second, address="203.0.113.10:9000")
        one = await tally(session, at(0), at(1000), [main.id])
        session.add(
            AddressApproval(
                stream_id=main.id, address="203.0.113.10", max_nodes=2, approved_at=at(0)
            )
        )
        await session.flush()
        approved = await tally(session, at(0), at(1000), [main.id])
    assert one.streams[0].credited == {"alice": 990, "bob": 990}  # most passed probes stays
    # alice2 has no recorded URL (a node from before this rule): verified until a probe fails
    assert approved.streams[0].credited == {"alice": 990, "bob": 990, "alice2": 1000}


# --- property: a closed period never depends on what a node says after it -----------------

CAPS = st.sampled_from([100, 1000, 9000])  # kbit/s
AFTER = st.one_of(
    st.tuples(st.just("move"), st.sampled_from(["alice", "bob"]), st.sampled_from([A_URL, "x"])),
    st.tuples(st.just("beat"), st.sampled_from(["alice", "bob"]), st.integers(1000, 5000)),
    st.tuples(st.just("probe"), st.sampled_from(["alice", "bob"]), st.sampled_from(
        ["ok", "timeout", "hash_mismatch", "not_owned"])),
    st.tuples(st.just("join"), st.sampled_from(["alice", "bob"]), st.integers(1000, 5000)),
    st.tuples(st.just("cap"), st.sampled_from(["alice", "bob"]), CAPS),
    st.tuples(st.just("bitrate"), st.just(""), st.sampled_from([500, 2000, 20_000])),
)  # fmt: skip


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(st.tuples(AFTER, st.integers(0, 4000)), min_size=1, max_size=8))
async def test_a_closed_periods_payout_never_depends_on_anything_said_after_it(tmp_path, events):
    folder = tmp_path / secrets.token_hex(4)
    folder.mkdir()
    url = f"sqlite+aiosqlite:///{folder / 'ledger.db'}"
    async with open_database(url) as sessions, sessions() as session:
        seed = Seeder(session)
        main = await _two_friends(seed)
        await seed.probe("bob", 600, "timeout", address="198.51.100.20:8430")
        await seed.probe("bob", 700, address="198.51.100.20:8430")
        # a 2 Mbit stream; bob lowers his upload cap to 1 Mbit at 900: no viewer slot from then
        session.add(StreamBitrateChange(stream_id=main.id, slot_kbit=2000, started_at=at(0)))
        for node_id, seconds, kbit in (("alice", 0, 8000), ("bob", 0, 8000), ("bob", 900, 1000)):
            session.add(
                NodeCapacityChange(node_id=node_id, capacity_kbit=kbit, started_at=at(seconds))
            )
        await session.flush()
        before = await tally(session, at(0), at(1000), [main.id])
        for index, ((what, node_id, value), delay) in enumerate(events):
            when = 1000 + delay  # at or after the period's end
            if what == "move":
                url = A_URL if value == A_URL else f"http://198.51.100.{30 + index}:8430"
                await session.execute(update(Node).where(Node.id == node_id).values(relay_url=url))
                await seed.took_url(node_id, when, url)
            elif what == "beat":  # a heartbeat extending its interval past the end
                await session.execute(
                    update(UptimeInterval)
                    .where(UptimeInterval.node_id == node_id)
                    .values(ended_at=at(max(1000, int(value))))
                )
            elif what == "cap":  # a heartbeat with another upload cap
                await session.execute(
                    update(Node).where(Node.id == node_id).values(capacity_kbit=int(value))
                )
                session.add(
                    NodeCapacityChange(node_id=node_id, capacity_kbit=value, started_at=at(when))
                )
            elif what == "bitrate":  # the origin's stream got lighter or heavier
                session.add(
                    StreamBitrateChange(stream_id=main.id, slot_kbit=value, started_at=at(when))
                )
            elif what == "probe":
                await seed.probe(node_id, when, str(value), address="203.0.113.10:8430")
            else:  # a new node registering like it, flagged at once
                twin = f"{node_id}-again-{index}"
                await seed.node(twin, relay=A_URL, payout_handle=f"@{node_id}", flagged=True)
                await seed.took_url(twin, when, A_URL)
                await seed.up(twin, main, (when, when + int(value)))
            await session.flush()
            after = await tally(session, at(0), at(1000), [main.id])
            assert after.streams[0].credited == before.streams[0].credited
            assert after.streams[0].pool_minor == before.streams[0].pool_minor
    assert before.streams[0].credited == {"alice": 990, "bob": 790}
