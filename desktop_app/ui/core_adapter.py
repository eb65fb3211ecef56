"""The tray app's use of the node core: its config from the friend's settings, joining, leaving.

Every network call here is the core's (CoordinatorClient, join); this module only adapts them to
what the wizard and the controller expect, translating core errors into JoinError.
"""

import asyncio
import logging
from pathlib import Path
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
from desktop_app.core.node import Node, join, node_version
from desktop_app.ui.errors import JoinError
from desktop_app.ui.portmap import PortMapping, map_port
from desktop_app.ui.settings import TraySettings
from streamr_protocol.invite import InviteLink
from streamr_protocol.models import NodeEarningsResponse

__all__ = ["CoreJoinBackend", "TrayNode", "forget_identity", "node_config", "read_invite"]

logger = logging.getLogger(__name__)
INVITE_FILE_LIMIT = 4096


def node_config(base: NodeConfig, settings: TraySettings) -> NodeConfig:
    """The node's config: flags given on the command line win, then the friend's settings."""
    given = base.model_fields_set
    update: dict[str, object] = {}
    if "relay_port" not in given:
        update["relay_port"] = settings.relay_port
    if "upload_cap_mbit" not in given:
        update["upload_cap_mbit"] = settings.upload_cap_mbit or None
    if "name" not in given and settings.display_name:
        update["name"] = settings.display_name
    if "payout_handle" not in given and settings.payout_handle:
        update["payout_handle"] = settings.payout_handle
    return base.model_copy(update=update)


def read_invite(argument: str | None) -> str:
    """The invite text from `--invite`: a link, or a file the host sent that holds one."""
    if not argument:
        return ""
    if "://" not in argument:
        path = Path(argument).expanduser()
        try:
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")[
                    :INVITE_FILE_LIMIT
                ].strip()
        except OSError as exc:
            logger.warning("cannot read the invite file %s: %s", path, exc.strerror)
    return argument.strip()


def forget_identity(config: NodeConfig) -> None:
    """Drop the stored identity (leaving the coordinator); the next start asks to join again."""
    config.identity_path.unlink(missing_ok=True)


class TrayNode(Node):
    """The core Node plus the earnings details the window shows (payout history)."""

    async def earnings_details(self) -> NodeEarningsResponse | None:
        """This node's earnings answer with payouts and probes; None when unknown."""
        identity = self.identity
        if identity is None:
            return None
        client = CoordinatorClient(
            identity.coordinator_url, identity.node_token, version=node_version()
        )
        try:
            return await client.earnings()
        except CoreError as exc:
            logger.debug("earnings not available: %s", exc)
            return None
        finally:
            await client.aclose()


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


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
