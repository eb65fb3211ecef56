"""Invite links: `http(s)://COORDINATOR/join/CODE` or `streamr://join?coordinator=URL&code=CODE`.

A streamr:// link may also carry what the friend's app fills in for the friend:
`&name=NAME&payout_handle=HANDLE&relay_port=PORT` (each optional; flags given win).
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

__all__ = ["InviteLink", "InviteLinkError", "format_invite_link", "parse_invite_link"]

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


class InviteLinkError(ValueError):
    """The text is not an invite link."""


@dataclass(frozen=True)
class InviteLink:
    """A parsed invite: where the coordinator is, the one-time code, and optional prefills."""

    coordinator_url: str
    code: str
    name: str | None = None
    payout_handle: str | None = None
    relay_port: int | None = None

    def __str__(self) -> str:
        return format_invite_link(self.coordinator_url, self.code)


def format_invite_link(coordinator_url: str, code: str) -> str:
    """Build the link a host sends to a friend."""
    return f"{coordinator_url.rstrip('/')}/join/{code}"


def _check_base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InviteLinkError("the coordinator address in the invite must be an http(s) URL")
    if parts.query or parts.fragment:
        raise InviteLinkError("the coordinator address in the invite must not carry a query")
    return url.rstrip("/")


def _check_code(code: str) -> str:
    if not CODE_PATTERN.match(code):
        raise InviteLinkError("the invite code is malformed (was the link copied whole?)")
    return code


def _text(query: dict[str, list[str]], key: str) -> str | None:
    value = query.get(key, [""])[0].strip()
    if len(value) > 200 or not value.isprintable():
        raise InviteLinkError(f"the link's {key} is not a short line of text")
    return value or None


def _port(query: dict[str, list[str]]) -> int | None:
    value = query.get("relay_port", [""])[0].strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise InviteLinkError("the link's relay_port must be a port number (1-65535)")
    return int(value)


def parse_invite_link(text: str) -> InviteLink:
    """Parse an invite link, raising InviteLinkError with a one-line reason."""
    text = (text or "").strip()
    if not text:
        raise InviteLinkError("the invite link is empty")
    if len(text) > 2048:
        raise InviteLinkError("the invite link is too long")
    parts = urlsplit(text)
    if parts.scheme == "streamr":
        query = parse_qs(parts.query)
        coordinator = query.get("coordinator", [""])[0]
        code = query.get("code", [""])[0]
        if not coordinator or not code:
            raise InviteLinkError("a streamr:// link needs coordinator= and code=")
        return InviteLink(
            _check_base(coordinator),
            _check_code(code),
            name=_text(query, "name"),
            payout_handle=_text(query, "payout_handle"),
            relay_port=_port(query),
        )
    if parts.scheme not in ("http", "https"):
        raise InviteLinkError("an invite link starts with http://, https:// or streamr://")
    marker = "/join/"
    index = parts.path.rfind(marker)
    if index < 0:
        raise InviteLinkError("an invite link looks like http://HOST:PORT/join/CODE")
    code = parts.path[index + len(marker) :].strip("/")
    base = f"{parts.scheme}://{parts.netloc}{parts.path[:index]}"
    return InviteLink(_check_base(base), _check_code(code))
