"""The host's say on nodes credited from one address: list, approve, keep one, withdraw.

On real SQLite and PostgreSQL: Sam and Ann relay from one public address, Bob from another
(`households.py`). Approving lets both earn in the very tally payouts run and sends viewers to
both; keeping one or withdrawing goes back to one share; bad input is one clear error.
"""

from datetime import timedelta

import pytest

from coordinator_service.errors import NotFoundError, ValidationError
from coordinator_service.ledger.shared_addresses import (
    APPROVED,
    KEPT_ONE,
    PENDING,
    approve_address,
    keep_one,
    shared_addresses,
    withdraw_approval,
)
from coordinator_service.ledger.tally import CreditTrace, tally
from coordinator_service.prober.identity import key_of_typed_address
from coordinator_service.prober.routing import eligible_relays
from coordinator_service.services.clock import utcnow
from tests.trust.conftest import Api, at
from tests.trust.households import HOUR, HOUSE, seed_household

END = at(10 * HOUR)
ALL_THREE = {"sam": 3590, "ann": 3590, "bob": 3590}


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7:8430 ", "203.0.113.7"),
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2::9]", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::/64", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2::9]:8430", "2001:db8:1:2::/64"),
        ("127.0.0.1:8430", "127.0.0.1:8430"),
        ("127.0.0.1", ""),  # a private address counts with its port
        ("203.0.113.0/24", ""),
        ("sam's house", ""),
        ("203.0.113.7:²", ""),  # a digit to str.isdigit(), not to int()
    ],
)
def test_a_typed_address_names_the_key_it_is_counted_under(typed, key):
    assert key_of_typed_address(typed) == key


async def _credited(session) -> dict[str, int]:
    counted = await tally(session, END - timedelta(hours=2), END, None)
    return counted.streams[0].credited


async def test_nodes_at_one_address_are_listed_until_the_host_decides(sessions):
    async with sessions() as session:
        await seed_household(session, END)
        [group] = await shared_addresses(session, END)
        assert (group.stream_name, group.address, group.state) == ("main", HOUSE, PENDING)
        assert [(n.display_name, n.credited) for n in group.nodes] == [
            ("Sam", True),
            ("Ann", False),
        ]
        assert await _credited(session) == {"sam": 3590, "bob": 3590}

        approved = await approve_address(session, "main", HOUSE, None, END)
        assert (approved.state, approved.max_nodes) == (APPROVED, 2)
        assert all(n.credited for n in approved.nodes)
        assert await _credited(session) == ALL_THREE  # what a payout of the hour pays

        kept = await keep_one(session, "main", "203.0.113.7:9000", END)  # any port: the address
        assert (kept.state, kept.credited_names) == (KEPT_ONE, ["Sam"])
        assert await _credited(session) == {"sam": 3590, "bob": 3590}

        assert await withdraw_approval(session, "main", HOUSE, END) == 1
        [again] = await shared_addresses(session, END)
        assert (again.state, again.max_nodes) == (PENDING, None)
        assert await _credited(session) == {"sam": 3590, "bob": 3590}


async def test_an_approval_sends_viewers_to_every_node_at_the_address(sessions):
    async with sessions() as session:
        await seed_household(session, END)
        grace = timedelta(minutes=2)
        _, one = await eligible_relays(session, "main", END, grace)
        await approve_address(session, "main", HOUSE, None, END)
        _, both = await eligible_relays(session, "main", END, grace)
    # unapproved, viewers go to the node the period's payout credits (Sam), not to Ann
    assert sorted(c.node_id for c in one) == ["bob", "sam"]
    assert sorted(c.node_id for c in both) == ["ann", "bob", "sam"]


async def test_a_group_seen_only_outside_the_last_day_is_not_listed(sessions):
    async with sessions() as session:
        await seed_household(session, END)
        assert await shared_addresses(session, END + timedelta(hours=25)) == []


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: approve_address(s, "nope", HOUSE, None, END), NotFoundError, "no stream"),
        (lambda s: approve_address(s, "main", "198.51.100.20", None, END), NotFoundError,
         "no nodes share address 198.51.100.20 on stream main"),
        (lambda s: keep_one(s, "main", "my house", END), ValidationError, "is not an address"),
        (lambda s: approve_address(s, "main", HOUSE, 1, END), ValidationError, "keep one"),
        (lambda s: withdraw_approval(s, "main", HOUSE, END), NotFoundError, "no approval"),
    ],
)  # fmt: skip
async def test_bad_decisions_are_refused_with_one_clear_line(sessions, call, error, message):
    async with sessions() as session:
        await seed_household(session, END)
        with pytest.raises(error) as caught:
            await call(session)
    assert message in caught.value.message and "\n" not in caught.value.message


# --- the admin API ---------------------------------------------------------------------------


async def test_the_admin_api_lists_approves_keeps_one_and_withdraws(api: Api):
    end = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    async with api.ctx.db.transaction() as session:
        await seed_household(session, end)
        await session.commit()
    url = "/api/v1/admin/addresses"
    refused = await api.client.get(url)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "missing_token"

    [group] = (await api.client.get(url, headers=api.admin)).json()
    assert (group["stream"], group["address"], group["state"]) == ("main", HOUSE, "pending")
    assert [(n["display_name"], n["credited"]) for n in group["nodes"]] == [
        ("Sam", True),
        ("Ann", False),
    ]
    body = {"stream": "main", "address": HOUSE}
    approved = await api.client.post(f"{url}/approve", json=body, headers=api.admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved" and approved.json()["max_nodes"] == 2
    kept = await api.client.post(f"{url}/keep-one", json=body, headers=api.admin)
    assert kept.json()["state"] == "kept_one"
    gone = await api.client.post(f"{url}/withdraw", json=body, headers=api.admin)
    assert gone.status_code == 204
    [again] = (await api.client.get(url, headers=api.admin)).json()
    assert again["state"] == "pending" and again["max_nodes"] is None

    for path, fields, status, code in (
        ("approve", {"stream": "nope"}, 404, "unknown_stream"),
        ("approve", {"address": "198.51.100.99"}, 404, "unknown_address"),
        ("keep-one", {"address": "the attic"}, 422, "bad_input"),
        ("approve", {"max_nodes": 1}, 422, "invalid_request"),
        ("withdraw", {}, 404, "unknown_approval"),
    ):
        answer = await api.client.post(f"{url}/{path}", json=body | fields, headers=api.admin)
        assert answer.status_code == status, (path, fields, answer.text)
        assert answer.json()["error"]["code"] == code


async def test_tallying_only_the_nodes_seen_at_shared_addresses_finds_the_same_groups(sessions):
    async with sessions() as session:
        await seed_household(session, END)
        start = END - timedelta(hours=2)
        everyone, some = CreditTrace(), CreditTrace()
        full = await tally(session, start, END, None, everyone)
        part = await tally(session, start, END, None, some, node_ids={"sam", "ann"})
    assert everyone.groups == some.groups and len(some.groups) == 1
    assert part.streams[0].credited == {"sam": 3590}
    assert full.streams[0].credited == {"sam": 3590, "bob": 3590}
