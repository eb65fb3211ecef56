"""Property-based run over the OpenAPI spec against a real server: no input yields a 5xx."""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.fixtures.coordinator import run_coordinator

pytestmark = pytest.mark.slow

EXAMPLES = 30  # per operation and mode: bounded so the run stays within seconds

NO_LIMITS = {
    "STREAMR_RATE_LIMIT_IP": "1000000/minute",
    "STREAMR_RATE_LIMIT_REGISTER": "1000000/minute",
    "STREAMR_RATE_LIMIT_NODE": "1000000/minute",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One coordinator for the whole run, with a stream, an invite and a registered node."""
    tmp_path = tmp_path_factory.mktemp("schemathesis")
    with run_coordinator(tmp_path, env=NO_LIMITS) as coord:
        coord.cli(
            "stream",
            "add",
            "demo",
            "--origin",
            "http://127.0.0.1:9/demo.m3u8",
            "--pool-per-hour",
            "1",
        )
        code = coord.invite("--uses", "5").rsplit("/", 1)[1]
        joined = httpx.post(
            f"{coord.url}/api/v1/nodes/register",
            json={
                "invite_code": code,
                "display_name": "n",
                "payout_handle": "h",
                "relay_port": 9000,
            },
            timeout=10,
        ).json()
        coord.node_token = joined["node_token"]
        yield coord


def _headers(path: str, server) -> dict[str, str]:
    if path.startswith("/api/v1/admin"):
        token = server.admin_token
    elif path.startswith("/api/v1/nodes"):
        token = server.node_token
    else:
        return {}
    return {"Authorization": f"Bearer {token}"}


def _property(operation, mode, base_url, headers):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    def check(case):
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )

    return check


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(server, mode):
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        check = _property(operation, mode, server.url, _headers(operation.path, server))
        try:
            check()
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode is GenerationMode.NEGATIVE
    assert not failures, "\n".join(failures)
    assert "Traceback" not in server.log()
