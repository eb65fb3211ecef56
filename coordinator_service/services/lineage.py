"""A new node's past: the relay URL it claims must be free, and a flagged past comes along.

- A relay URL an active node holds (heard from, or registered, within `URL_HOLD`) cannot be
  claimed by another node: registration (and a heartbeat moving to it) is refused with 409.
  The first holder keeps it; a second name for the same relay is caught by the ledger, which
  counts relays by the address probed.
- A new registration from the same public address (IPv4, or IPv6 /64), the same relay URL or
  relay address, or the same payout handle as a flagged or banned node starts with that node's
  reputation (the worst one when several match), flagged if it was: registering again does not
  wash a record clean. Private and loopback registration addresses are shared by everyone on a
  LAN or in the demo, so they do not count.
"""

import ipaddress
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import ConflictError
from coordinator_service.prober.identity import address_key, is_lan_address
from coordinator_service.prober.reputation import Reputation
from coordinator_service.storage.models import Node, Probe

__all__ = ["URL_HOLD", "check_relay_url_free", "inherited_reputation", "public_ip_key"]

URL_HOLD = timedelta(days=1)
BANNED = "banned"


def public_ip_key(ip: str) -> str:
    """Return the one-person key of a public registration address ("" for private ones)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if is_lan_address(address):
        return ""
    return address_key(f"[{address}]:0" if address.version == 6 else f"{address}:0")


async def check_relay_url_free(
    session: AsyncSession, relay_url: str, now: datetime, node_id: str | None = None
) -> None:
    """Raise ConflictError (409) when another active node holds `relay_url`."""
    since = now - URL_HOLD
    holder = await session.scalar(
        select(Node.id)
        .where(
            Node.relay_url == relay_url,
            Node.status != BANNED,
            or_(Node.last_heartbeat_at >= since, Node.created_at >= since),
            Node.id != (node_id or ""),
        )
        .limit(1)
    )
    if holder is not None:
        raise ConflictError(
            f"the relay URL {relay_url} is held by another active node (your own earlier node?"
            " the host can remove it)",
            code="relay_url_taken",
        )


async def inherited_reputation(
    session: AsyncSession, registered_ip: str, relay_url: str, payout_handle: str
) -> Reputation | None:
    """Return the worst reputation of flagged or banned nodes this registration matches."""
    bad = (Node.flagged.is_(True)) | (Node.status == BANNED)
    matches = [
        Node.relay_url == relay_url,
        func.lower(Node.payout_handle) == payout_handle.strip().lower(),
    ]
    rows = (
        await session.execute(
            select(
                Node.id,
                Node.registered_ip,
                Node.reputation_alpha,
                Node.reputation_beta,
                Node.flagged,
                Node.status,
            ).where(bad)
        )
    ).all()
    if not rows:
        return None
    by_text = set((await session.scalars(select(Node.id).where(bad, or_(*matches)))).all())
    ip_key = public_ip_key(registered_ip)
    endpoint = _literal_endpoint(relay_url)
    probed = await _probed_addresses(session, [row.id for row in rows]) if endpoint else {}
    worst: Reputation | None = None
    for row in rows:
        same = (
            row.id in by_text
            or (ip_key and public_ip_key(row.registered_ip) == ip_key)
            or endpoint in probed.get(row.id, set())
        )
        if not same:
            continue
        found = Reputation(row.reputation_alpha, row.reputation_beta, True)
        if worst is None or found.score < worst.score:
            worst = found
    return worst


def _literal_endpoint(relay_url: str) -> str:
    """Return `IP:PORT` of a relay URL whose host is an IP address ("" for names)."""
    parts = urlsplit(relay_url)
    try:
        ip = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


async def _probed_addresses(session: AsyncSession, node_ids: list[str]) -> dict[str, set[str]]:
    """Return the relay addresses each node was probed at."""
    result: dict[str, set[str]] = {}
    for node_id, address in await session.execute(
        select(Probe.node_id, Probe.address)
        .where(Probe.node_id.in_(node_ids), Probe.address != "")
        .distinct()
    ):
        result.setdefault(node_id, set()).add(address)
    return result
