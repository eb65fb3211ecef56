"""Links from the coordinator the app may open or trust: http(s) only, rebuilt by the app."""

from ipaddress import ip_address
from urllib.parse import urlsplit, urlunsplit

__all__ = ["is_local_host", "is_plain_http_remote", "safe_download_url"]


def safe_download_url(url: str) -> str | None:
    """Rebuild an https:// or http:// URL with a host; None for any other scheme or junk."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        return None
    if parts.username or parts.password or any(c in url for c in "\r\n\t\x00 "):
        return None
    host = parts.hostname
    host = f"[{host}]" if ":" in host else host
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def is_local_host(host: str) -> bool:
    """Tell whether `host` is this machine or a private network address (no DNS lookup)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def is_plain_http_remote(url: str) -> bool:
    """Tell whether `url` is plain http:// to a host that is not local (readable on the path)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and not is_local_host(parts.hostname or "")
