"""POST /api/v1/nodes/me/reachability against a real coordinator and a real relay."""

import pytest

from desktop_app.core.client import CoordinatorClient
from desktop_app.core.errors import TokenRejected
from streamr_protocol import NodeRegisterRequest, ReachabilityResponse, parse_invite_link
from tests.fixtures.coordinator import RunningCoordinator, run_coordinator
from tests.fixtures.net import free_port
from tests.node.helpers import running_relay

pytestmark = pytest.mark.slow


async def _check(coord: RunningCoordinator, relay_url: str) -> ReachabilityResponse:
    """Register a node with `relay_url` and ask the coordinator to check it."""
    anonymous = CoordinatorClient(coord.url)
    try:
        answer = await anonymous.register(
            NodeRegisterRequest.model_validate(
                {
                    "invite_code": parse_invite_link(coord.invite()).code,
                    "display_name": "Reach",
                    "payout_handle": "@reach",
                    "relay_url": relay_url,
                }
            )
        )
    finally:
        await anonymous.aclose()
    client = CoordinatorClient(coord.url, answer.node_token)
    try:
        return await client.check_reachability()
    finally:
        await client.aclose()


async def test_reachability_answers_for_a_running_relay_and_a_closed_port(tmp_path) -> None:
    with run_coordinator(tmp_path, "--allow-private-relays") as coord:
        async with running_relay({}) as relay:
            answer = await _check(coord, f"http://127.0.0.1:{relay.port}")
        assert answer.reachable and answer.reason == "ok"
        assert answer.relay_url == f"http://127.0.0.1:{relay.port}"

        answer = await _check(coord, f"http://127.0.0.1:{free_port()}")
        assert not answer.reachable and answer.reason == "refused" and answer.detail


async def test_reachability_refuses_private_relays_unless_allowed(tmp_path) -> None:
    with run_coordinator(tmp_path) as coord:
        async with running_relay({}) as relay:
            answer = await _check(coord, f"http://127.0.0.1:{relay.port}")
        assert not answer.reachable and answer.reason == "private_address"
        assert "127.0.0.1" in answer.detail

        stranger = CoordinatorClient(coord.url, "not-a-token")
        try:
            with pytest.raises(TokenRejected):
                await stranger.check_reachability()
        finally:
            await stranger.aclose()
