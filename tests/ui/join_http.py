"""A wizard backend speaking the coordinator's public API with httpx, for the wizard's tests."""

import asyncio

import httpx

from desktop_app.ui.errors import JoinError
from desktop_app.ui.portmap import PortMapping, map_port
from streamr_protocol.invite import InviteLink
from streamr_protocol.models import NodeRegisterRequest, NodeRegisterResponse

INVITE_STATUSES = {403, 404, 409, 410}


class HttpJoinBackend:
    """Checks and joins through a real coordinator; maps the port on a (fake) router."""

    def __init__(self, minissdpd_socket: str) -> None:
        self.minissdpd_socket = minissdpd_socket
        self.registered: NodeRegisterResponse | None = None

    async def check_coordinator(self, invite: InviteLink) -> str:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(f"{invite.coordinator_url}/healthz")
        except httpx.HTTPError as exc:
            raise JoinError(f"The coordinator at {invite.coordinator_url} does not answer") from exc
        if response.status_code != 200:
            raise JoinError(f"The coordinator answered {response.status_code}; try again later")
        return f"The coordinator at {invite.coordinator_url} answers."

    async def join(
        self, invite: InviteLink, display_name: str, payout_handle: str, relay_port: int
    ) -> str:
        body = NodeRegisterRequest(
            invite_code=invite.code,
            display_name=display_name,
            payout_handle=payout_handle,
            relay_port=relay_port,
        )
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.post(
                f"{invite.coordinator_url}/api/v1/nodes/register",
                json=body.model_dump(mode="json", exclude_none=True),
            )
        if response.status_code != 201:
            message = response.json().get("error", {}).get("message", response.text)
            raise JoinError(message, invite_problem=response.status_code in INVITE_STATUSES)
        self.registered = NodeRegisterResponse.model_validate(response.json())
        return self.registered.relay_url

    async def map_port(self, port: int) -> PortMapping:
        return await asyncio.to_thread(
            map_port, port, "StreamrP2P relay", 50, self.minissdpd_socket, "127.0.0.1"
        )
