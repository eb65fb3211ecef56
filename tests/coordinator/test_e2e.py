"""End to end: a real `python -m coordinator_service serve` process, admin commands beside it."""

import json

import httpx
import pytest

from streamr_protocol.invite import parse_invite_link
from tests.fixtures.coordinator import run_coordinator

pytestmark = pytest.mark.slow


def test_serve_registers_and_hears_a_node_while_admin_commands_run(tmp_path):
    # 20 s: the grace (2.5 intervals) outlasts a slow `nodes list` process on a busy machine
    with run_coordinator(tmp_path, "--heartbeat-interval", "20") as coord:
        assert "admin-token" in coord.log() and coord.admin_token not in coord.log()
        coord.cli(
            "stream",
            "add",
            "demo",
            "--origin",
            "http://127.0.0.1:9/live/demo.m3u8",
            "--pool-per-hour",
            "36",
        )
        assert "demo" in coord.cli("stream", "list").stdout
        link = parse_invite_link(coord.invite())
        assert link.coordinator_url == coord.url

        with httpx.Client(base_url=coord.url, timeout=10) as client:
            joined = client.post(
                "/api/v1/nodes/register",
                json={
                    "invite_code": link.code,
                    "display_name": "Bob",
                    "payout_handle": "bob@example.org",
                    "relay_port": 8091,
                },
            ).json()
            auth = {"Authorization": f"Bearer {joined['node_token']}"}
            beat = client.post(
                "/api/v1/nodes/heartbeat",
                json={"streams": [{"name": "demo", "live": True}]},
                headers=auth,
            )
            assert beat.status_code == 200
            assert beat.json()["interval_s"] == 20
            assert beat.json()["streams"][0]["name"] == "demo"

            rows = json.loads(coord.cli("nodes", "list", "--json").stdout)
            assert rows[0]["id"] == joined["node_id"] and rows[0]["state"] == "healthy"
            assert rows[0]["relay_url"] == "http://127.0.0.1:8091"

            coord.cli("nodes", "ban", joined["node_id"])
            again = client.post("/api/v1/nodes/heartbeat", json={}, headers=auth)
            assert again.json()["state"] == "banned"
            assert coord.admin_get("/api/v1/admin/nodes")[0]["state"] == "banned"


def test_serve_refuses_a_busy_port_with_one_line(tmp_path):
    with run_coordinator(tmp_path) as coord:
        port = coord.url.rsplit(":", 1)[1]
        other = tmp_path / "other"
        with pytest.raises(RuntimeError, match="cannot listen on 127.0.0.1"):
            with run_coordinator(tmp_path, "--port", port, "--data-dir", str(other)):
                pass
