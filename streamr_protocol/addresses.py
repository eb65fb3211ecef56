"""Which IP addresses are internal (not to fetch on the internet's say-so); node and coordinator.

Internal: anything Python does not call global (loopback, private, link-local, documentation,
unspecified, reserved), CGNAT 100.64.0.0/10 (carrier NAT, Tailscale peers, some cloud metadata)
and IPv6 forms that embed such an IPv4 address (IPv4-mapped, 6to4, NAT64), decoded.
"""

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

__all__ = [
    "CGNAT",
    "NAT64_PREFIXES",
    "embedded_ipv4",
    "is_internal",
    "parse_ip",
    "plain_http_public",
]

CGNAT = ip_network("100.64.0.0/10")
NAT64_PREFIXES = (ip_network("64:ff9b::/96"), ip_network("64:ff9b:1::/48"))


def parse_ip(text: str) -> IPv4Address | IPv6Address | None:
    """Return the address a host string spells (brackets and zone ids allowed), else None."""
    try:
        return ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def embedded_ipv4(ip: IPv4Address | IPv6Address) -> IPv4Address | None:
    """Return the IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), else None."""
    if isinstance(ip, IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in prefix for prefix in NAT64_PREFIXES):
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_internal(ip: IPv4Address | IPv6Address) -> bool:
    """Tell whether `ip` is not a public internet address (see the module docstring)."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return is_internal(inner)
    if isinstance(ip, IPv4Address) and ip in CGNAT:
        return True
    return not ip.is_global or ip.is_multicast


def plain_http_public(url: str) -> bool:
    """Tell whether `url` is plain http:// to a host that is not local (a name counts as public)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme.lower() != "http" or host == "localhost" or host.endswith(".localhost"):
        return False
    ip = parse_ip(host)
    return ip is None or not is_internal(ip)
