"""Relay names under the host's relay domain: ADDRESS.NODEID.ZONE, ADDRESS in dashes.

IPv4 1.2.3.4 → `1-2-3-4`; IPv6 → its eight groups in full, joined by dashes
(`2001-0db8-0000-0000-0000-0000-0000-0001`), so every label is a plain hostname label.
"""

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

__all__ = ["RelayName", "normalize_zone", "parse_relay_name", "relay_name", "tls_name_for"]

_LABEL = re.compile(r"^[a-z0-9]{1,40}$")
_ZONE_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class RelayName:
    """What a name under the zone says: the address it resolves to and whose it is."""

    address: IPv4Address | IPv6Address
    node_id: str


def normalize_zone(zone: str) -> str:
    """Return the zone in lower case without the trailing dot; ValueError when not a domain."""
    zone = zone.strip().lower().rstrip(".")
    labels = zone.split(".")
    if len(labels) < 2 or not all(_ZONE_LABEL.match(label) for label in labels):
        raise ValueError(f"{zone!r} is not a domain name like relays.example.org")
    return zone


def _address_label(address: IPv4Address | IPv6Address) -> str:
    if isinstance(address, IPv4Address):
        return str(address).replace(".", "-")
    return address.exploded.replace(":", "-")


def relay_name(address: IPv4Address | IPv6Address, node_id: str, zone: str) -> str | None:
    """The node's name for this address, None when the node id is no hostname label."""
    if not _LABEL.match(node_id):
        return None
    return f"{_address_label(address)}.{node_id}.{zone}"


def parse_relay_name(name: str, zone: str) -> RelayName | None:
    """Read ADDRESS.NODEID.ZONE back; None for any other name."""
    name = name.lower().rstrip(".")
    suffix = "." + zone
    if not name.endswith(suffix):
        return None
    labels = name[: -len(suffix)].split(".")
    if len(labels) != 2 or not _LABEL.match(labels[1]):
        return None
    parts = labels[0].split("-")
    try:
        if len(parts) == 4:
            address: IPv4Address | IPv6Address = IPv4Address(".".join(parts))
        elif len(parts) == 8 and all(len(p) == 4 for p in parts):
            address = IPv6Address(":".join(parts))
        else:
            return None
    except ValueError:
        return None
    if _address_label(address) != labels[0]:  # one spelling per address (no 01-2-3-4)
        return None
    return RelayName(address, labels[1])


def tls_name_for(relay_url: str | None, node_id: str, zone: str) -> str | None:
    """The name the coordinator certifies for a node whose relay is at `relay_url`.

    The relay's host is an IP address (the name carries it) or already the node's own name
    under the zone; any other host (the friend's own name) gets none.
    """
    if not relay_url:
        return None
    host = urlsplit(relay_url).hostname or ""
    try:
        return relay_name(ip_address(host), node_id, zone)
    except ValueError:
        pass
    parsed = parse_relay_name(host, zone)
    if parsed is None or parsed.node_id != node_id:
        return None
    return relay_name(parsed.address, node_id, zone)
