"""POST /api/v1/nodes/me/reachability against a real coordinator and a real relay."""

import pytest

from desktop_app.core.client import CoordinatorClient
from desktop_app.core.errors import TokenRejected
from desktop_app.core.relay.relay import Relay
from streamr_protocol import NodeRegisterRequest, parse_invite_link
from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.net import free_port

pytestmark = pytest.mark.slow


async def _register(url: str, invite: str, relay_url: str) -> CoordinatorClient:
    code = parse_invite_link(invite).code
    anonymous = CoordinatorClient(url)
    try:
        answer = await anonymous.register(
            NodeRegisterRequest.model_validate(
                {
                    "invite_code": code,
                    "display_name": "Reach",
                    "payout_handle": "@reach",
                    "relay_url": relay_url,
                }
            )
        )
    finally:
        await anonymous.aclose()
    return CoordinatorClient(url, answer.node_token)


async def test_reachability_answers_for_a_running_relay_and_a_closed_port(tmp_path) -> None:
    with run_coordinator(tmp_path, "--allow-private-relays") as coord:
        relay = Relay(host="127.0.0.1", port=0)
        await relay.start()
        try:
            client = await _register(coord.url, coord.invite(), f"http://127.0.0.1:{relay.port}")
            try:
                answer = await client.check_reachability()
            finally:
                await client.aclose()
        finally:
            await relay.stop()
        assert answer.reachable and answer.reason == "ok"
        assert answer.relay_url == f"http://127.0.0.1:{relay.port}"

        closed = free_port()
        client = await _register(coord.url, coord.invite(), f"http://127.0.0.1:{closed}")
        try:
            answer = await client.check_reachability()
        finally:
            await client.aclose()
        assert not answer.reachable and answer.reason == "refused" and answer.detail


async def test_reachability_refuses_private_relays_unless_allowed(tmp_path) -> None:
    with run_coordinator(tmp_path) as coord:
        relay = Relay(host="127.0.0.1", port=0)
        await relay.start()
        try:
            client = await _register(coord.url, coord.invite(), f"http://127.0.0.1:{relay.port}")
            try:
                answer = await client.check_reachability()
            finally:
                await client.aclose()
        finally:
            await relay.stop()
        assert not answer.reachable and answer.reason == "private_address"
        assert "127.0.0.1" in answer.detail

        stranger = CoordinatorClient(coord.url, "not-a-token")
        try:
            with pytest.raises(TokenRejected):
                await stranger.check_reachability()
        finally:
            await stranger.aclose()
