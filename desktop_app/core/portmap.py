"""Open the relay port on the home router with UPnP (miniupnpc); Qt-free and blocking.

Call `map_port` in a worker thread (`asyncio.to_thread`): discovery waits for SSDP answers.
"""

import logging
from dataclasses import dataclass

__all__ = ["FORWARDING_HELP", "PortMapping", "map_port", "reachability_message"]

logger = logging.getLogger(__name__)

FORWARDING_HELP = (
    "To let viewers in by hand: open your router's page (often http://192.168.1.1), find "
    "'Port forwarding', and forward TCP port {port} to this computer ({lan})."
)


@dataclass(frozen=True)
class PortMapping:
    """What UPnP achieved: `ok`, the external address, and a sentence for the friend."""

    ok: bool
    message: str
    external_ip: str = ""
    external_port: int = 0
    lan_address: str = ""


def map_port(
    port: int,
    description: str = "StreamrP2P relay",
    discover_delay_ms: int = 2000,
    minissdpd_socket: str | None = None,
    multicast_if: str | None = None,
) -> PortMapping:
    """Ask the router to forward TCP `port` here; explain port forwarding when it cannot.

    Args:
        minissdpd_socket: where a MiniSSDPd answers (default: the system's).
        multicast_if: the interface address SSDP discovery uses (default: the system's).
    """
    try:
        import miniupnpc
    except ImportError:
        return PortMapping(
            False, "This app cannot ask your router. " + _help(port, "this computer")
        )
    options: dict[str, object] = {"discoverdelay": discover_delay_ms}
    if minissdpd_socket:
        options["minissdpdsocket"] = minissdpd_socket
    if multicast_if:
        options["multicastif"] = multicast_if
    upnp = miniupnpc.UPnP(**options)
    try:
        found = upnp.discover()
    except Exception:  # raised when discovery found nothing at all
        found = 0
    if not found:
        return PortMapping(False, "Your router did not answer. " + _help(port, "this computer"))
    try:
        upnp.selectigd()
        lan = str(upnp.lanaddr)
        external = str(upnp.externalipaddress() or "")
        upnp.addportmapping(port, "TCP", lan, port, description, "")
    except Exception as exc:  # miniupnpc raises bare Exception with the router's reason
        logger.info("UPnP mapping of port %d failed: %s", port, exc)
        lan = str(getattr(upnp, "lanaddr", "") or "this computer")
        return PortMapping(
            False, "Your router did not open the port by itself. " + _help(port, lan)
        )
    logger.info("UPnP: %s:%d forwards to %s:%d", external, port, lan, port)
    return PortMapping(
        True,
        f"Your router now forwards port {port} to this computer ({external}:{port}).",
        external,
        port,
        lan,
    )


def _help(port: int, lan: str) -> str:
    return FORWARDING_HELP.format(port=port, lan=lan or "this computer")


def reachability_message(
    reachable: bool, reason: str, detail: str, port: int, lan: str = ""
) -> str:
    """One short paragraph for the friend about the host's check from outside."""
    if reachable:
        return f"Viewers can reach this computer on port {port}."
    if reason == "private_address":
        why = "Your host only sees a home-network address for you. "
    elif reason == "no_relay":
        why = "Your host does not know your address yet. "
    else:
        why = f"Your host could not reach this computer on port {port}. "
    return why + _help(port, lan)
