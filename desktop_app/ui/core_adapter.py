"""The tray app's use of the node core: its config from the friend's settings, joining, leaving.

Every network call here is the core's (CoordinatorClient, join); this module only adapts them to
what the wizard and the controller expect, translating core errors into JoinError.
"""

import asyncio
import logging
from typing import Any

from desktop_app.core.client import CoordinatorClient
from desktop_app.core.config import NodeConfig
from desktop_app.core.errors import (
    CoordinatorProtocolError,
    CoordinatorUnreachable,
    InviteRefused,
    TokenRejected,
)
from desktop_app.core.errors import Error as CoreError
from desktop_app.core.node import join, node_version
from desktop_app.core.relay.relay import Relay
from desktop_app.ui.errors import JoinError
from desktop_app.ui.portmap import PortMapping, map_port, reachability_message
from streamr_protocol.invite import InviteLink

__all__ = ["CoreJoinBackend"]

logger = logging.getLogger(__name__)


class CoreJoinBackend:
    """The wizard's calls, done by the node core."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.upnp_options: dict[str, Any] = {}  # map_port's keyword arguments

    async def check_coordinator(self, invite: InviteLink) -> str:
        client = CoordinatorClient(invite.coordinator_url, version=node_version())
        try:
            await client.me()  # without a token: a coordinator answers "who are you?"
        except TokenRejected:
            return f"The coordinator at {invite.coordinator_url} answers."
        except CoordinatorUnreachable as exc:
            raise JoinError(
                f"The coordinator at {invite.coordinator_url} does not answer: is the link "
                "complete and the host's computer on?"
            ) from exc
        except (CoordinatorProtocolError, CoreError) as exc:
            raise JoinError(
                f"{invite.coordinator_url} does not look like a StreamrP2P coordinator"
            ) from exc
        finally:
            await client.aclose()
        return f"The coordinator at {invite.coordinator_url} answers."

    async def join(
        self, invite: InviteLink, display_name: str, payout_handle: str, relay_port: int
    ) -> str:
        try:
            identity = await join(self.config, str(invite), display_name, payout_handle, relay_port)
        except InviteRefused as exc:
            raise JoinError(_sentence(str(exc)), invite_problem=True) from exc
        except CoreError as exc:
            raise JoinError(_sentence(str(exc))) from exc
        return identity.relay_url

    async def map_port(self, port: int) -> PortMapping:
        return await asyncio.to_thread(lambda: map_port(port, **self.upnp_options))

    async def check_reachability(self, port: int, lan: str = "") -> tuple[bool, str]:
        """Serve an empty relay on `port` while the coordinator fetches it from outside."""
        identity = self.config.load_identity()
        if identity is None:
            raise JoinError("Join first: there is no node to check yet.")
        relay = Relay(host=self.config.relay_host, port=port)
        try:
            await relay.start()
        except CoreError as exc:
            raise JoinError(_sentence(str(exc))) from exc
        client = CoordinatorClient(
            identity.coordinator_url, identity.node_token, version=node_version()
        )
        try:
            answer = await client.check_reachability()
        except CoreError as exc:
            raise JoinError(_sentence(f"could not check your relay from outside: {exc}")) from exc
        finally:
            await client.aclose()
            await relay.stop()
        return answer.reachable, reachability_message(
            answer.reachable, answer.reason, answer.detail, port, lan
        )


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
