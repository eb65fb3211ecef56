"""The prober's SSRF guard: which addresses a node's relay URL may make the coordinator fetch.

Refused (unless `--allow-private-relays`, for tests and LANs): every address that is not
global (`ip.is_global`: loopback, private, link-local, documentation, reserved …), CGNAT
100.64.0.0/10 (carrier NAT, Tailscale peers, some clouds' metadata), IPv6 forms carrying such an
IPv4 address (IPv4-mapped, 6to4 2002::/16, NAT64 64:ff9b::/96), decoded (shared with the node:
`streamr_protocol/addresses.py`); and the coordinator's own addresses: those of this machine's
name, of the address it listens on and of its public URL's host, so a node cannot point the
prober at the host's own services through their public address.
"""

import asyncio
import socket
import time
from urllib.parse import urlsplit

from streamr_protocol.addresses import embedded_ipv4, is_internal, parse_ip

__all__ = ["coordinator_addresses", "refusal"]

_CACHE_TTL_S = 300.0
_cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}


def refusal(address: str, denied: frozenset[str] = frozenset()) -> str | None:
    """Return why the prober must not fetch `address` (one line), or None when it may."""
    ip = parse_ip(address)
    if ip is None:
        return f"{address} is not an IP address"
    inner = embedded_ipv4(ip)
    if str(ip) in denied or (inner is not None and str(inner) in denied):
        return f"{ip} is the coordinator's own address"
    if is_internal(ip):
        shown = f"{ip} (carries {inner})" if inner is not None else str(ip)
        return f"{shown} is not a public internet address"
    return None


async def _resolve(host: str) -> set[str]:
    literal = parse_ip(host)
    if literal is not None:
        return {str(literal)}
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {str(parsed) for parsed in (parse_ip(str(i[4][0])) for i in infos) if parsed}


async def coordinator_addresses(public_url: str, listen_host: str = "") -> frozenset[str]:
    """Return this coordinator's own addresses (cached five minutes): deny-listed for probes."""
    key = (public_url, listen_host)
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < _CACHE_TTL_S:
        return cached[1]
    hosts = {socket.gethostname(), urlsplit(public_url).hostname or ""}
    if listen_host not in ("", "0.0.0.0", "::"):
        hosts.add(listen_host)
    found: set[str] = set()
    for host in filter(None, hosts):
        found |= await _resolve(host)
    result = frozenset(found)
    _cache[key] = (now, result)
    return result
