"""Where a stream's puller may fetch: only the assigned origin, never an internal address.

The coordinator names each stream's `origin_url`; a hostile coordinator (or anyone on the path
of a plain-http invite) must not turn the friend's relay into a proxy. Every fetch, redirects
and playlist-named URLs included, must keep the origin's scheme, host and port; and when the
origin is a public name, every address it resolves to must be public (loopback, private,
link-local and CGNAT refused) — unless the origin itself is such an address literal (a host's
LAN test, our loopback tests), which is then the only place fetched anyway.
"""

import asyncio
import socket
import time
from urllib.parse import urljoin, urlsplit

from desktop_app.core.errors import OriginRefused
from streamr_protocol.addresses import is_internal, parse_ip

__all__ = ["MAX_REDIRECTS", "OriginPolicy"]

MAX_REDIRECTS = 5
_RESOLVED_TTL_S = 60.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> tuple[str, str, int]:
    """Return (scheme, host, port) of an http(s) URL; raise OriginRefused for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OriginRefused(f"not a usable URL: {url[:200]!r}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise OriginRefused(f"the origin must be an http(s) URL, not {url[:200]!r}")
    if parts.username or parts.password:
        raise OriginRefused("the origin URL must not carry a user name or password")
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


class OriginPolicy:
    """Pin fetches to one origin (scheme, host, port) and its addresses to public ones."""

    def __init__(self, origin_url: str) -> None:
        """Raise OriginRefused when `origin_url` is not an http(s) URL with a host."""
        self.origin = _origin_of(origin_url)
        host = self.origin[1]
        literal = parse_ip(host)
        self.internal_allowed = host == "localhost" or (
            literal is not None and is_internal(literal)
        )
        self._resolved_at: float | None = None

    def check_url(self, url: str) -> None:
        """Raise OriginRefused unless `url` is on the origin's scheme, host and port."""
        if _origin_of(url) != self.origin:
            scheme, host, port = self.origin
            raise OriginRefused(
                f"refused to fetch {url[:200]!r}: only {scheme}://{host}:{port} is this "
                "stream's origin"
            )

    def redirect_target(self, url: str, location: str) -> str:
        """Return where a redirect from `url` leads, refusing any other origin."""
        target = urljoin(url, location)
        self.check_url(target)
        return target

    async def check_addresses(self) -> None:
        """Resolve the origin's name (cached a minute) and refuse internal addresses."""
        if self.internal_allowed:
            return
        now = time.monotonic()
        if self._resolved_at is not None and now - self._resolved_at < _RESOLVED_TTL_S:
            return
        scheme, host, port = self.origin
        literal = parse_ip(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError:
                return  # the fetch itself reports the name that does not resolve
            addresses = [a for a in (parse_ip(str(i[4][0])) for i in infos) if a is not None]
        for address in addresses:
            if is_internal(address):
                raise OriginRefused(
                    f"refused to fetch from {host}: it resolves to the internal address {address}"
                )
        self._resolved_at = now
