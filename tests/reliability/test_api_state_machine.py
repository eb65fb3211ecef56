"""Stateful fuzzing of the whole API on a real server: sequences of calls never get a 5xx.

A hypothesis state machine keeps what the calls created (streams, invites, node tokens, node ids)
and mixes purposeful steps (join, beat, ban, revoke, …) with any operation of the live OpenAPI
spec, drawn by schemathesis with valid and invalid inputs and the tokens the machine holds. So
routes added later are fuzzed too, in a state where things exist. Invariants are checked after
every step: every answer is below 500, errors are JSON with a message, and the counters the
host sees agree with what the machine did.
"""

import string
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from schemathesis.generation import GenerationMode

from tests.fixtures.coordinator import RunningCoordinator, run_coordinator

pytestmark = pytest.mark.slow

NO_LIMITS = {
    "STREAMR_RATE_LIMIT_IP": "1000000/minute",
    "STREAMR_RATE_LIMIT_REGISTER": "1000000/minute",
    "STREAMR_RATE_LIMIT_NODE": "1000000/minute",
}

names = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=70)
any_text = st.text(max_size=300)
junk_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
stream_names = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=64)
stream_reports = st.lists(  # valid reports (junk bodies have their own rule)
    st.fixed_dictionaries(
        {"name": stream_names, "live": st.booleans()},
        optional={
            "segments_cached": st.integers(0, 1_000_000),
            "newest_sequence": st.integers(0, 2**53),
            "bytes_served": st.integers(0, 2**53),
            "viewers": st.integers(0, 1_000_000),
        },
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCoordinator]:
    tmp_path: Path = tmp_path_factory.mktemp("stateful")
    with run_coordinator(
        tmp_path, "--heartbeat-interval", "1", "--allow-private-relays", env=NO_LIMITS
    ) as coord:
        yield coord


class ApiMachine(RuleBasedStateMachine):
    """Drive the API; keep what exists; check no answer is a server error."""

    server: RunningCoordinator
    operations: list[Any]
    calls: list[str] = []  # every call of every run, for the coverage checks at the end

    streams = Bundle("streams")
    invites = Bundle("invites")
    nodes = Bundle("nodes")

    def __init__(self) -> None:
        super().__init__()
        self.client = httpx.Client(base_url=self.server.url, timeout=15)
        self.admin = self.server.admin_headers()
        self.last: httpx.Response | None = None
        self.seen: list[str] = []
        self.banned: set[str] = set()

    def teardown(self) -> None:
        self.client.close()
        ApiMachine.calls.extend(self.seen)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        self.last = response
        self.seen.append(f"{method} {path} -> {response.status_code}")
        assert response.status_code < 500, f"{method} {path}: {response.text[:300]}"
        return response

    @initialize()
    def fresh_limits(self) -> None:
        self.call("GET", "/healthz")

    @rule(target=streams, name=names, pool=st.integers(-10, 10**13), origin=any_text)
    def add_stream(self, name: str, pool: int, origin: str) -> str:
        body = {"name": name, "origin_url": origin, "pool_per_hour_minor": pool}
        if len(origin) % 2:
            body["origin_url"] = f"http://127.0.0.1:9/live/{name}.m3u8"
        self.call("POST", "/api/v1/admin/streams", json=body, headers=self.admin)
        return name

    @rule(
        target=invites,
        uses=st.integers(-1, 4),
        expires=st.none() | st.integers(60, 10**6) | st.integers(-1, 10**9),
    )
    def create_invite(self, uses: int, expires: int | None) -> str:
        body: dict[str, Any] = {"uses": uses, "expires_in_s": expires}
        response = self.call("POST", "/api/v1/admin/invites", json=body, headers=self.admin)
        if response.status_code == 201:
            code: str = response.json()["code"]
            return code
        return "x" * 20  # an invalid code is state too

    @rule(
        target=nodes,
        code=invites,
        name=st.sampled_from(["Alice", "Bob", "Zoë"]) | any_text,
        handle=st.sampled_from(["@alice", "bob@example.com"]) | any_text,
        port=st.integers(1, 65535) | st.integers(-1, 70000) | st.none(),
    )
    def join(self, code: str, name: str, handle: str, port: int | None) -> str:
        body = {"invite_code": code, "display_name": name, "payout_handle": handle}
        body["relay_port"] = port  # type: ignore[assignment]
        response = self.call("POST", "/api/v1/nodes/register", json=body)
        if response.status_code == 201:
            token: str = response.json()["node_token"]
            return token
        return "not-a-token-" + code

    @rule(target=nodes, code=invites, port=st.integers(1, 65535))
    def join_well(self, code: str, port: int) -> str:
        return self.join(code, "Carol", "@carol", port)  # type: ignore[no-any-return]

    @rule(token=nodes, streams=stream_reports, viewers=st.integers(0, 1_000_000))
    def heartbeat(self, token: str, streams: list[dict[str, Any]], viewers: int) -> None:
        body = {"streams": streams, "viewers": viewers}
        response = self.call(
            "POST",
            "/api/v1/nodes/heartbeat",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == 200:
            me = self.call("GET", "/api/v1/nodes/me", headers={"Authorization": f"Bearer {token}"})
            node_id = me.json()["node_id"]
            expected = "banned" if node_id in self.banned else response.json()["state"]
            assert response.json()["state"] == expected

    @rule(token=nodes, body=junk_json)
    def heartbeat_junk(self, token: str, body: Any) -> None:
        self.call(
            "POST",
            "/api/v1/nodes/heartbeat",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )

    @rule(token=nodes, ban=st.booleans())
    def ban_or_unban(self, token: str, ban: bool) -> None:
        me = self.call("GET", "/api/v1/nodes/me", headers={"Authorization": f"Bearer {token}"})
        if me.status_code != 200:
            return
        node_id = me.json()["node_id"]
        action = "ban" if ban else "unban"
        response = self.call("POST", f"/api/v1/admin/nodes/{node_id}/{action}", headers=self.admin)
        assert response.status_code == 200
        (self.banned.add if ban else self.banned.discard)(node_id)

    @rule(code=consumes(invites))
    def revoke_invite(self, code: str) -> None:
        listing = self.call("GET", "/api/v1/admin/invites", headers=self.admin).json()
        for invite in listing[:3]:
            self.call("POST", f"/api/v1/admin/invites/{invite['id']}/revoke", headers=self.admin)

    @rule(data=st.data(), who=st.sampled_from(["admin", "node", "none", "wrong"]))
    def any_operation(self, data: st.DataObject, who: str) -> None:
        operation = data.draw(st.sampled_from(self.operations))
        mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
        try:
            case = data.draw(operation.as_strategy(generation_mode=mode))
        except Exception:  # nothing to make invalid for this operation
            case = data.draw(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        headers = {}
        if who == "admin":
            headers = self.admin
        elif who == "wrong":
            headers = {"Authorization": "Bearer " + "A" * 43}
        elif who == "node" and self.bundle("nodes"):
            token = data.draw(st.sampled_from(list(self.bundle("nodes"))))
            headers = {"Authorization": f"Bearer {token}"}
        response = case.call(base_url=self.server.url, headers=headers, timeout=15)
        self.seen.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )
        self.last = None

    @invariant()
    def errors_are_json_with_a_message(self) -> None:
        response = self.last
        if response is None or response.status_code < 400:
            return
        if response.headers.get("content-type", "").startswith("application/json"):
            error = response.json().get("error") or response.json().get("detail")
            assert error, response.text[:300]
            if isinstance(error, dict):
                assert error.get("message"), response.text[:300]
        assert "Traceback" not in response.text

    @invariant()
    def invites_never_go_negative(self) -> None:
        if len(self.seen) % 10:
            return
        for invite in self.call("GET", "/api/v1/admin/invites", headers=self.admin).json():
            assert 0 <= invite["uses_left"] <= invite["max_uses"]


def test_sequences_of_api_calls_never_get_a_server_error(server: RunningCoordinator) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    ApiMachine.server = server
    ApiMachine.operations = [result.ok() for result in schema.get_all_operations()]
    assert len(ApiMachine.operations) >= 15
    run_state_machine_as_test(
        ApiMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time, steps shown
        ),
    )
    assert "Traceback" not in server.log()
    calls = ApiMachine.calls
    print(f"{len(calls)} calls; statuses:", Counter(c.rsplit(" ", 1)[1] for c in calls))
    # the machine got somewhere: nodes joined and beat, and the spec's operations were tried
    summary = Counter(c.split("?")[0] for c in calls)
    assert summary["POST /api/v1/nodes/register -> 201"], summary
    assert summary["POST /api/v1/nodes/heartbeat -> 200"], summary
    assert len({c.rsplit(" -> ", 1)[0].split("?")[0] for c in calls}) >= 15
