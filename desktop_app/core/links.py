"""Links from the coordinator the app may open or trust: http(s) only, rebuilt by the app."""

from urllib.parse import urlsplit, urlunsplit

from streamr_protocol.addresses import plain_http_public

__all__ = ["is_plain_http_remote", "safe_download_url"]


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


def is_plain_http_remote(url: str) -> bool:
    """Tell whether `url` is plain http:// to a host that is not local (readable on the path)."""
    return plain_http_public(url)
