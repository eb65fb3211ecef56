"""A relay URL in its one canonical form: scheme, host and port, nothing else."""

import ipaddress
from urllib.parse import urlsplit

__all__ = ["RelayUrlError", "canonical_relay_url", "relay_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class RelayUrlError(ValueError):
    """A relay URL that is not just an http(s) scheme, a host and a port."""


def canonical_relay_url(text: str) -> str:
    """Return `scheme://host[:port]` (lower case, default port dropped) or raise RelayUrlError.

    A path other than `/`, a query, a fragment or user info are refused, not dropped: the URL
    names the relay and nothing else, so nothing a node chooses can ride along on a redirect.
    """
    raw = text.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise RelayUrlError(f"relay URL {raw[:80]!r} has a bad port") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise RelayUrlError(f"relay URL {raw[:80]!r} must look like http://HOST:PORT")
    extras = [
        name
        for name, present in (
            ("user info", parts.username is not None or parts.password is not None),
            ("a path", parts.path not in ("", "/")),
            ("a query", bool(parts.query) or "?" in raw),
            ("a fragment", bool(parts.fragment) or "#" in raw),
        )
        if present
    ]
    if extras:
        raise RelayUrlError(
            f"relay URL {raw[:80]!r} has {' and '.join(extras)}: give only scheme, host and port"
        )
    host = parts.hostname.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        host = f"[{address.compressed}]" if address.version == 6 else address.compressed
    if port == 0:
        raise RelayUrlError(f"relay URL {raw[:80]!r} has port 0")
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def relay_origin(text: str) -> str:
    """Return the canonical `scheme://host[:port]` of any http(s) URL, ignoring the rest."""
    parts = urlsplit(text.strip())
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return canonical_relay_url(f"{parts.scheme}://{netloc}")
