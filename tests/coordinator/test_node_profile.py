"""PATCH /api/v1/nodes/me: a friend's new name and payout handle reach the host, with when."""

import pytest

from desktop_app.core.client import CoordinatorClient
from desktop_app.core.config import NodeConfig
from desktop_app.core.errors import ConfigError
from desktop_app.core.node import Node
from streamr_protocol import NodeRegisterRequest, parse_invite_link
from tests.coordinator.conftest import Api
from tests.fixtures.coordinator import run_coordinator


async def _admin_node(api: Api, node_id: str) -> dict[str, object]:
    listed = await api.client.get("/api/v1/admin/nodes", headers=api.admin)
    assert listed.status_code == 200, listed.text
    return next(n for n in listed.json() if n["node_id"] == node_id)


async def test_patch_me_changes_name_and_handle_and_the_host_sees_when(api: Api) -> None:
    node = await api.register(display_name="Alice", payout_handle="@alice-old")
    auth = {"Authorization": f"Bearer {node['node_token']}"}
    assert (await _admin_node(api, node["node_id"]))["profile_changed_at"] is None

    answer = await api.client.patch(
        "/api/v1/nodes/me", json={"payout_handle": "@alice-new"}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["payout_handle"] == "@alice-new"
    assert answer.json()["display_name"] == "Alice"
    assert answer.json()["profile_changed_at"] is not None

    seen = await _admin_node(api, node["node_id"])
    assert seen["payout_handle"] == "@alice-new"
    assert seen["profile_changed_at"] == answer.json()["profile_changed_at"]

    me = await api.client.get("/api/v1/nodes/me", headers=auth)
    assert me.json()["payout_handle"] == "@alice-new"


async def test_patch_me_needs_the_node_token(api: Api) -> None:
    answer = await api.client.patch("/api/v1/nodes/me", json={"display_name": "Mallory"})
    assert answer.status_code == 401
    answer = await api.client.patch(
        "/api/v1/nodes/me",
        json={"display_name": "Mallory"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    "name",
    [
        "Bob\u202eevil",  # right-to-left override
        "Bob\u2066x\u2069",  # bidi isolates
        "Bob\x07",  # control character
        "Bob\u200bhidden",  # zero-width space
        "Bob\nnewline",
    ],
)
async def test_names_and_handles_with_control_or_bidi_characters_are_refused(
    api: Api, name: str
) -> None:
    code = (await api.create_invite())["code"]
    for field in ("display_name", "payout_handle"):
        body = {
            "invite_code": code,
            "display_name": "Bob",
            "payout_handle": "@bob",
            "relay_port": 8090,
        } | {field: name}
        refused = await api.client.post("/api/v1/nodes/register", json=body)
        assert refused.status_code == 422, refused.text
    node = await api.register(code)
    auth = {"Authorization": f"Bearer {node['node_token']}"}
    for field in ("display_name", "payout_handle"):
        refused = await api.client.patch("/api/v1/nodes/me", json={field: name}, headers=auth)
        assert refused.status_code == 422, refused.text
    assert (await _admin_node(api, node["node_id"]))["display_name"] == "Alice"


async def test_printable_unicode_names_are_kept(api: Api) -> None:
    node = await api.register(display_name="Zoë 🎥 日本", payout_handle="zoë@example.org")
    assert (await _admin_node(api, node["node_id"]))["display_name"] == "Zoë 🎥 日本"


@pytest.mark.slow
async def test_client_update_profile_reaches_a_real_coordinator(tmp_path) -> None:
    with run_coordinator(tmp_path) as coord:
        anonymous = CoordinatorClient(coord.url)
        try:
            joined = await anonymous.register(
                NodeRegisterRequest.model_validate(
                    {
                        "invite_code": parse_invite_link(coord.invite()).code,
                        "display_name": "Carol",
                        "payout_handle": "@carol",
                        "relay_port": 8090,
                    }
                )
            )
        finally:
            await anonymous.aclose()
        client = CoordinatorClient(coord.url, joined.node_token)
        try:
            answer = await client.update_profile(display_name="Caroline")
            with pytest.raises(ValueError, match="printable"):
                await client.update_profile(payout_handle="@carol\u202e")
        finally:
            await client.aclose()
        assert answer.display_name == "Caroline" and answer.payout_handle == "@carol"
        nodes = coord.admin_get("/api/v1/admin/nodes")
        assert nodes[0]["display_name"] == "Caroline"
        assert nodes[0]["profile_changed_at"] is not None

        config = NodeConfig(
            data_dir=tmp_path / "node",
            relay_host="127.0.0.1",
            relay_port=0,
            status_port=0,
            invite=coord.invite(),
            name="Dave",
            payout_handle="@dave",
        )
        node = Node(config)
        await node.start()
        try:
            await node.update_profile(payout_handle="@dave-new")
            with pytest.raises(ConfigError, match="printable"):
                await node.update_profile(display_name="Dave\u202e")
        finally:
            await node.stop()
        stored = config.load_identity()
        assert stored is not None and stored.payout_handle == "@dave-new"
        handles = {
            n["display_name"]: n["payout_handle"] for n in coord.admin_get("/api/v1/admin/nodes")
        }
        assert handles["Dave"] == "@dave-new"
