"""Relay certificates in the database: CSRs taken, chains due for (re)issue, chains stored."""

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.db import Database
from coordinator_service.storage.models import RelayCertificate

__all__ = [
    "CertificateCache",
    "Due",
    "IssuedChain",
    "due_for_issue",
    "record_chain",
    "record_failure",
    "submit_csr",
]


@dataclass(frozen=True)
class Due:
    """A CSR waiting for its first chain or for renewal."""

    node_id: str
    name: str
    csr_pem: str


@dataclass(frozen=True)
class IssuedChain:
    """What a heartbeat answer hands back."""

    name: str
    sha256: str
    chain_pem: str


async def submit_csr(
    session: AsyncSession, node_id: str, name: str, csr_pem: str, now: datetime
) -> bool:
    """Keep the node's (checked) CSR; True when a chain for exactly this CSR is already issued."""
    row = await session.get(RelayCertificate, node_id)
    if row is not None and row.csr_pem == csr_pem and row.name == name:
        return row.chain_pem is not None
    if row is None:
        row = RelayCertificate(node_id=node_id, last_error="")
        session.add(row)
    row.name, row.csr_pem, row.requested_at = name, csr_pem, now
    row.chain_pem = row.chain_sha256 = None
    row.not_after = row.issued_at = row.next_attempt_at = None
    row.last_error = ""
    await session.commit()
    return False


async def due_for_issue(session: AsyncSession, now: datetime, renew_before: timedelta) -> list[Due]:
    """CSRs without a chain or whose chain expires within `renew_before`, not in back-off."""
    rows = await session.scalars(
        select(RelayCertificate)
        .where(
            or_(
                RelayCertificate.chain_pem.is_(None),
                RelayCertificate.not_after < now + renew_before,
            )
        )
        .where(
            or_(RelayCertificate.next_attempt_at.is_(None), RelayCertificate.next_attempt_at <= now)
        )
        .order_by(RelayCertificate.requested_at)
    )
    return [Due(r.node_id, r.name, r.csr_pem) for r in rows]


async def record_chain(session: AsyncSession, due: Due, chain_pem: str, now: datetime) -> None:
    """Store an issued chain, unless the node sent another CSR meanwhile; commit."""
    row = await session.get(RelayCertificate, due.node_id)
    if row is None or row.csr_pem != due.csr_pem:
        return
    leaf = x509.load_pem_x509_certificate(chain_pem.encode())
    row.chain_pem = chain_pem
    row.chain_sha256 = hashlib.sha256(chain_pem.encode()).hexdigest()
    row.not_after = leaf.not_valid_after_utc
    row.issued_at, row.next_attempt_at, row.last_error = now, None, ""
    await session.commit()


async def record_failure(session: AsyncSession, due: Due, error: str, retry_at: datetime) -> None:
    """Remember why issuing failed and when to try again; commit."""
    row = await session.get(RelayCertificate, due.node_id)
    if row is None or row.csr_pem != due.csr_pem:
        return
    row.last_error, row.next_attempt_at = error[:1000], retry_at
    await session.commit()


class CertificateCache:
    """Issued chains by node id, read from the database at most every `ttl` seconds."""

    def __init__(self, db: Database, ttl: float = 2.0) -> None:
        self._db = db
        self._ttl = ttl
        self._chains: dict[str, IssuedChain] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = None

    async def get(self, node_id: str) -> IssuedChain | None:
        loop = asyncio.get_running_loop()
        if self._loaded_at is None or loop.time() - self._loaded_at >= self._ttl:
            async with self._lock:
                if self._loaded_at is None or loop.time() - self._loaded_at >= self._ttl:
                    async with self._db.session() as session:
                        rows = await session.execute(
                            select(
                                RelayCertificate.node_id,
                                RelayCertificate.name,
                                RelayCertificate.chain_sha256,
                                RelayCertificate.chain_pem,
                            ).where(RelayCertificate.chain_pem.is_not(None))
                        )
                        self._chains = {
                            r.node_id: IssuedChain(r.name, r.chain_sha256, r.chain_pem)
                            for r in rows
                        }
                    self._loaded_at = loop.time()
        return self._chains.get(node_id)
