"""HTTPS relays in the app: the zone's DNS and the issuing loop as a background job, and the TLS
fields of the heartbeat answer (the CSR endpoint is `api/routes/relay_tls.py`; `api/app.py`
attaches the `RelayTls` and runs the job).

Every replica answers heartbeats from the database; the replica that binds the DNS port runs
the ACME issuing too (the TXT records of its challenges live in its memory).
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import FastAPI

from coordinator_service.app_state import find
from coordinator_service.config import Settings
from coordinator_service.errors import ValidationError
from coordinator_service.relay_tls.dns import ChallengeRecords, RelayDns, parse_listen
from coordinator_service.relay_tls.issuer import AcmeIssuer, IssueError
from coordinator_service.relay_tls.names import tls_name_for
from coordinator_service.relay_tls.store import (
    CertificateCache,
    due_for_issue,
    record_chain,
    record_failure,
)
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.db import Database

__all__ = ["RelayTls", "relay_tls_for", "relay_tls_of", "run_relay_tls", "tls_answer_fields"]

logger = logging.getLogger(__name__)


@dataclass
class RelayTls:
    """The relay domain of one app and what serves it."""

    zone: str
    nameserver: str
    cache: CertificateCache
    challenges: ChallengeRecords = field(default_factory=ChallengeRecords)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dns: RelayDns | None = None

    def name_for(self, node_id: str, relay_url: str | None) -> str | None:
        return tls_name_for(relay_url, node_id, self.zone)


def relay_tls_of(app: FastAPI) -> RelayTls | None:
    """The app's relay domain, None when the host gave none."""
    return find(app, RelayTls)


async def tls_answer_fields(
    app: FastAPI, node_id: str, relay_url: str | None, held_sha256: str | None
) -> bytes:
    """`,"tls_name":…[,"tls_certificate":…]` for a heartbeat answer; b"" without a domain."""
    tls = relay_tls_of(app)
    name = tls.name_for(node_id, relay_url) if tls else None
    if tls is None or name is None:
        return b""
    out = b',"tls_name":%s' % json.dumps(name).encode()
    issued = await tls.cache.get(node_id)
    if issued is not None and issued.name == name and issued.sha256 != held_sha256:
        out += b',"tls_certificate":%s' % json.dumps(issued.chain_pem).encode()
    return out


async def run_relay_tls(db: Database, settings: Settings, tls: RelayTls) -> None:
    """Answer the zone's DNS and issue due certificates until cancelled."""
    host, port = parse_listen(settings.relay_dns_listen)
    dns = RelayDns(tls.zone, tls.nameserver, tls.challenges)
    try:
        await dns.start(host, port)
    except OSError as exc:
        logger.error(
            "relay DNS not started on %s: %s; this process issues no relay certificates",
            settings.relay_dns_listen,
            exc.strerror or exc,
        )
        return
    tls.dns = dns
    issuer = AcmeIssuer(
        settings.acme_directory,
        settings.data_dir / "acme",
        tls.challenges,
        email=settings.acme_email,
        ca_bundle=settings.acme_ca_bundle,
    )
    try:
        while True:
            await _issue_due(db, tls, issuer, settings)
            tls.wake.clear()
            try:  # not wait_for: Python 3.11's loses a cancel that comes with a wake-up
                async with asyncio.timeout(settings.relay_cert_check_interval):
                    await tls.wake.wait()
            except TimeoutError:
                pass
    finally:
        await dns.stop()


async def _issue_due(db: Database, tls: RelayTls, issuer: AcmeIssuer, settings: Settings) -> None:
    renew_before = timedelta(days=settings.relay_cert_renew_days)
    async with db.session() as session:
        due = await due_for_issue(session, utcnow(), renew_before)
    retry = timedelta(seconds=min(3600.0, settings.relay_cert_check_interval * 10))
    for item in due:
        try:
            chain = await asyncio.to_thread(issuer.issue, item.csr_pem)
        except IssueError as exc:
            logger.warning("certificate for %s not issued: %s", item.name, exc)
            async with db.transaction() as session:
                await record_failure(session, item, str(exc), utcnow() + retry)
            continue
        async with db.transaction() as session:
            await record_chain(session, item, chain, utcnow())
        tls.cache.invalidate()
        logger.info("certificate for %s issued", item.name)


def relay_tls_for(settings: Settings, db: Database) -> RelayTls | None:
    """The relay domain's state for these settings; None when the host gave no relay domain."""
    if not settings.relay_domain:
        return None
    nameserver = settings.relay_dns_nameserver or urlsplit(settings.public_url).hostname or ""
    if not nameserver:
        raise ValidationError("give --relay-dns-nameserver: the host name the NS record names")
    return RelayTls(settings.relay_domain, nameserver, CertificateCache(db))
