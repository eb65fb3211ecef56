"""Viewer report tokens: a short-lived HMAC grant naming the relays a viewer may report on.

The watch playlist carries a token (`issue_report_token`) naming the stream and the node ids the
viewer was offered; the watch page posts per-segment beacons with it (`POST /api/v1/watch/reports`),
and `verify_report_token` checks the MAC and expiry. A token cannot be used to report on any node
it does not name, so reports cannot be sprayed at random nodes. The token is
`base64url(payload) "." base64url(HMAC-SHA256(secret, payload))`, with payload JSON
`{"s": stream, "n": [node ids], "e": expiry (unix seconds), "v": viewer id}`; the viewer id is
random per token so evidence can count distinct viewing sessions.
"""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.prober.evidence import SLOW_SEGMENT_MS
from coordinator_service.storage.models import AppSetting, Node, ViewerReport

__all__ = [
    "MAX_TOKEN_CHARS",
    "ORIGIN",
    "REPORT_SECRET",
    "TOKEN_TTL",
    "PathwayTally",
    "ReportGrant",
    "ViewerBatch",
    "issue_report_token",
    "report_secret",
    "store_tallies",
    "tally_reports",
    "verify_report_token",
    "viewer_address",
]

TOKEN_TTL: Final = timedelta(minutes=20)
MAX_TOKEN_CHARS: Final = 4096
MAX_NODES: Final = 32
REPORT_SECRET: Final = "viewer_report_secret"
_MAC_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class ReportGrant:
    """What a valid token allows: reports on `node_ids` (and the origin) of `stream`."""

    stream: str
    node_ids: tuple[str, ...]
    expires_at: datetime
    viewer: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()


def issue_report_token(
    secret: bytes,
    stream: str,
    node_ids: Sequence[str],
    now: datetime,
    ttl: timedelta = TOKEN_TTL,
    viewer: str = "",
) -> str:
    """Return a token letting one viewer report on `node_ids` of `stream` until `now + ttl`.

    `viewer` renews a token for the same viewing session; by default a new random id.
    """
    expires = int((now + ttl).timestamp())
    body = {
        "s": stream,
        "n": sorted(set(node_ids))[:MAX_NODES],
        "e": expires,
        "v": viewer[:32] or secrets.token_hex(8),
    }
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify_report_token(secret: bytes, token: str, now: datetime) -> ReportGrant | None:
    """Return the grant of a genuine, unexpired token, else None (never raises on bad input)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    encoded, mac = token.split(".")
    try:
        payload = _unb64(encoded)
        given = _unb64(mac)
    except (ValueError, binascii.Error):
        return None
    if len(given) != _MAC_BYTES or not hmac.compare_digest(given, _mac(secret, payload)):
        return None
    try:
        body = json.loads(payload)
        stream, nodes, expires, viewer = body["s"], body["n"], body["e"], body["v"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (
        isinstance(stream, str)
        and isinstance(nodes, list)
        and all(isinstance(n, str) for n in nodes)
        and isinstance(expires, int)
        and isinstance(viewer, str)
    ):
        return None
    expires_at = datetime.fromtimestamp(expires, UTC)
    if expires_at <= now:
        return None
    return ReportGrant(stream, tuple(nodes), expires_at, viewer)


async def report_secret(session: AsyncSession) -> bytes:
    """Return the coordinator's report secret (app settings), making it once on first use.

    Replicas starting together agree: the first insert wins and everyone reads the stored value.
    """
    row = await session.get(AppSetting, REPORT_SECRET)
    if row is None:
        postgres = session.get_bind().dialect.name == "postgresql"
        insert = postgresql_insert if postgres else sqlite_insert
        await session.execute(
            insert(AppSetting)
            .values(key=REPORT_SECRET, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=[AppSetting.key])
        )
        await session.commit()
        value = await session.scalar(
            select(AppSetting.value).where(AppSetting.key == REPORT_SECRET)
        )
    else:
        value = row.value
    return bytes.fromhex(value or "")


ORIGIN: Final = "origin"


@dataclass(slots=True)
class PathwayTally:
    """One pathway's segment outcomes in a batch: loads that worked and failed, bytes, ms."""

    ok: int = 0
    failed: int = 0
    bytes: int = 0
    ms: int = 0


def tally_reports(reports: Iterable[tuple[str, bool, int, int]]) -> dict[str, PathwayTally]:
    """Sum `(pathway, ok, bytes, ms)` reports per pathway (bytes and ms of loads that worked).

    A load slower than `SLOW_SEGMENT_MS` counts as failed: the viewer's playback stalled.
    """
    tallies: dict[str, PathwayTally] = {}
    for pathway, ok, size, ms in reports:
        tally = tallies.setdefault(pathway, PathwayTally())
        if ok and ms <= SLOW_SEGMENT_MS:
            tally.ok += 1
            tally.bytes += size
            tally.ms += ms
        else:
            tally.failed += 1
    return tallies


def viewer_address(ip: str) -> str:
    """Return the address a viewer counts as: the IPv4 address, or the IPv6 /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class ViewerBatch:
    """One viewer's beacon batch: its address (`viewer_address`), token id, tallies per pathway."""

    address: str
    viewer: str
    tallies: Mapping[str, PathwayTally]


async def store_tallies(
    session: AsyncSession, stream_id: int, batches: Sequence[ViewerBatch], now: datetime
) -> None:
    """Add each batch as a row per pathway (pathways naming no known node are dropped).

    The caller commits.
    """
    node_ids = sorted({p for batch in batches for p in batch.tallies if p != ORIGIN})
    known = set((await session.scalars(select(Node.id).where(Node.id.in_(node_ids)))).all())
    session.add_all(
        ViewerReport(
            at=now,
            stream_id=stream_id,
            node_id=None if pathway == ORIGIN else pathway,
            address=batch.address,
            viewer=batch.viewer,
            ok_count=tally.ok,
            fail_count=tally.failed,
            bytes=tally.bytes,
            ms=tally.ms,
        )
        for batch in batches
        for pathway, tally in batch.tallies.items()
        if pathway == ORIGIN or pathway in known
    )
