"""How the relay knows the friend's own preview: loopback and PREVIEW_AGENT (never a viewer).

A module of its own, without aiohttp, so the tray's preview can name the agent cheaply.
"""

import ipaddress

__all__ = ["PREVIEW_AGENT", "is_local_preview"]

PREVIEW_AGENT = "StreamrP2P-preview"


def is_local_preview(remote: str | None, agent: str) -> bool:
    """The friend's own preview (loopback, PREVIEW_AGENT): served, but no viewer helped."""
    if not agent.startswith(PREVIEW_AGENT) or not remote:
        return False
    try:
        return ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
