"""Joining from the app: check an invite with its host, join, open the port, check from outside.

Qt-free; the tray app runs these on a core thread. Errors are core errors with one line for
the friend; `InviteRefused` means a new invite is needed.
"""

import asyncio
import logging
from typing import Any

from desktop_app.core.client import CoordinatorClient
from desktop_app.core.config import NodeConfig
from desktop_app.core.errors import (
    ConfigError,
    CoordinatorProtocolError,
    CoordinatorUnreachable,
    Error,
    InviteRefused,
    TokenRejected,
)
from desktop_app.core.node import join, node_version
from desktop_app.core.portmap import PortMapping, map_port, reachability_message
from desktop_app.core.relay.relay import Relay
from streamr_protocol.invite import InviteLink

__all__ = ["ANSWERS", "Onboarding"]

logger = logging.getLogger(__name__)
ANSWERS = "Your host answers: press Next."
INVITE_PROBLEMS = {
    "invalid": "This invite is not known to your host: check the link, or ask for a new one.",
    "revoked": "Your host took this invite back: ask for a new one.",
    "expired": "This invite has expired: ask your host for a new one.",
    "used": "This invite has been used already: ask your host for a new one.",
}


class Onboarding:
    """The wizard's work, done by the node core."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.upnp_options: dict[str, Any] = {}  # map_port's keyword arguments

    async def check_invite(self, invite: InviteLink) -> str:
        """One sentence when the host answers; a CoordinatorError when it does not."""
        client = CoordinatorClient(invite.coordinator_url, version=node_version())
        try:
            status = await client.check_invite(invite.code)
            if status is None:  # a host too old to check codes: it answers at least
                await client.me()  # without a token: "who are you?"
        except TokenRejected:
            return ANSWERS
        except CoordinatorUnreachable as exc:
            raise CoordinatorUnreachable(
                "Your host's computer does not answer: is the link complete, and is it on?"
            ) from exc
        except Error as exc:
            raise CoordinatorProtocolError(
                "This link does not lead to a StreamrP2P host: ask your host for a new one."
            ) from exc
        finally:
            await client.aclose()
        if status not in (None, "active"):
            raise InviteRefused(INVITE_PROBLEMS.get(status, INVITE_PROBLEMS["invalid"]))
        return ANSWERS

    async def join(
        self, invite: InviteLink, display_name: str, payout_handle: str, relay_port: int
    ) -> str:
        """Register; return the relay URL the host uses."""
        identity = await join(self.config, str(invite), display_name, payout_handle, relay_port)
        return identity.relay_url

    async def map_port(self, port: int) -> PortMapping:
        """Ask the router (UPnP) to let viewers in on `port` (blocking work on a worker)."""
        return await asyncio.to_thread(lambda: map_port(port, **self.upnp_options))

    async def check_reachability(self, port: int, lan: str = "") -> tuple[bool, str]:
        """Serve an empty relay on `port` while the host fetches it from outside."""
        identity = self.config.load_identity()
        if identity is None:
            raise ConfigError("Join first: there is nothing to check yet.")
        relay = Relay(host=self.config.relay_host, port=port)
        await relay.start()
        client = CoordinatorClient(
            identity.coordinator_url, identity.node_token, version=node_version()
        )
        try:
            answer = await client.check_reachability()
        finally:
            await client.aclose()
            await relay.stop()
        return answer.reachable, reachability_message(
            answer.reachable, answer.reason, answer.detail, port, lan
        )
