"""A relay's identity is the address probed, not its URL text: keys for the one-share rules.

`address_key("203.0.113.7:8430")` is `203.0.113.7` (one public IPv4 address is one person);
a public IPv6 address counts by its /64 (`2001:db8:1:2::/64`, one household's prefix); private
and loopback addresses (only with `--allow-private-relays`: LAN parties, the demo, tests) count
by address and port, so three local nodes on three ports are three relays while one relay under
two names (`localhost:8430`, `127.0.0.1:8430`) is one.
"""

import ipaddress
from urllib.parse import urlsplit

__all__ = [
    "LAN_NETWORKS",
    "address_key",
    "is_lan_address",
    "key_of_typed_address",
    "relay_url_key",
    "split_address",
]

# where relays of a LAN party, the demo or the tests live: these count by address and port
LAN_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def is_lan_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Tell whether `ip` is loopback, private (RFC 1918, ULA), CGNAT or link-local."""
    return any(ip in net for net in LAN_NETWORKS if net.version == ip.version)


def split_address(address: str) -> tuple[str, int] | None:
    """Return (ip, port) of `IP:PORT` or `[IPv6]:PORT`, or None when it is not one."""
    host, sep, port = address.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()):  # int() takes "²" and "٣" too
        return None
    host = host.removeprefix("[").removesuffix("]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(ip), int(port)


def address_key(address: str) -> str:
    """Return the key under which relays at `address` (IP:PORT) count as one ("" if unknown)."""
    parts = split_address(address)
    if parts is None:
        return ""
    ip = ipaddress.ip_address(parts[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if is_lan_address(ip):
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        return f"{host}:{parts[1]}"
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def relay_url_key(relay_url: str) -> str:
    """Return the key of a relay URL before it is probed: `address_key` of an IP literal,
    `host:port` of a name (the probe resolves names; until then the text is compared)."""
    try:
        parts = urlsplit(relay_url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return relay_url
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"{host}:{port}"
    return address_key(f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}")


def key_of_typed_address(text: str) -> str:
    """Return the key of an address a host typed ("" if it names none).

    Takes what `address_key` takes (IP:PORT, [IPv6]:PORT), a bare public IP (`203.0.113.7`,
    `2001:db8:1:2::1`), an IPv6 /64 (`2001:db8:1:2::/64`), or a key as listed.
    """
    text = text.strip()
    try:
        network = ipaddress.ip_network(text.removeprefix("[").removesuffix("]"), strict=False)
    except ValueError:
        return address_key(text)
    if network.version == 6 and network.prefixlen == 64:
        return str(network)
    if network.num_addresses != 1:
        return ""
    ip = network.network_address
    if is_lan_address(ip):  # private and loopback relays count by address and port
        return ""
    return address_key(f"[{ip}]:0" if ip.version == 6 else f"{ip}:0")
