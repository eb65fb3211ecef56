"""Nodes for end-to-end tests: register with an invite, heartbeat every second, run a relay.

An honest `BeatingNode` runs the node's real relay (`desktop_app.core.relay.Relay`); a cheat
runs a `MirrorRelay` in a cheating mode, or no relay at all, or claims another node's URL.
"""

import asyncio
import contextlib
from typing import Any

import httpx

from desktop_app.core.relay.relay import Relay
from streamr_protocol import parse_invite_link
from tests.trust.relays import MirrorRelay


class BeatingNode:
    """A registered node whose heartbeats report `main` live, with whatever relay it has."""

    def __init__(self, coordinator_url: str, name: str) -> None:
        self.coordinator_url = coordinator_url
        self.name = name
        self.node_id = ""
        self.token = ""
        self.probe_key = ""
        self.relay_url = ""
        self.real_relay: Relay | None = None
        self.mirror: MirrorRelay | None = None
        self._task: asyncio.Task[None] | None = None
        self.capacity_kbit: int | None = None
        self.client = httpx.AsyncClient(timeout=5)

    async def join(self, invite_link: str, relay_url: str, **fields: Any) -> None:
        code = parse_invite_link(invite_link).code
        body = {
            "invite_code": code,
            "display_name": self.name,
            "payout_handle": f"@{self.name}",
            "relay_url": relay_url,
            **fields,
        }
        response = await self.client.post(
            f"{self.coordinator_url}/api/v1/nodes/register", json=body
        )
        assert response.status_code == 201, response.text
        joined = response.json()
        self.node_id, self.token = joined["node_id"], joined["node_token"]
        self.probe_key, self.relay_url = joined["probe_key"], joined["relay_url"]
        if self.mirror is not None and self.mirror.key == "":
            self.mirror.key = self.probe_key

    async def start_real_relay(self) -> str:
        self.real_relay = Relay(
            host="127.0.0.1",
            port=0,
            probe_key=lambda: self.probe_key,
            relay_url=lambda: self.relay_url or None,
        )
        await self.real_relay.start()
        return f"http://127.0.0.1:{self.real_relay.port}"

    def start_beating(self) -> None:
        self._task = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        while True:
            with contextlib.suppress(httpx.HTTPError):
                response = await self.client.post(
                    f"{self.coordinator_url}/api/v1/nodes/heartbeat",
                    json={"streams": [{"name": "main", "live": True}], "viewers": 0}
                    | ({"capacity_kbit": self.capacity_kbit} if self.capacity_kbit else {}),
                    headers=headers,
                )
                if response.status_code == 200 and self.real_relay is not None:
                    wanted = {s["name"]: s["origin_url"] for s in response.json()["streams"]}
                    await self.real_relay.set_streams(wanted)
            await asyncio.sleep(1)

    async def stop_beating(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def close(self) -> None:
        await self.stop_beating()
        if self.real_relay is not None:
            await self.real_relay.stop()
        await self.client.aclose()
