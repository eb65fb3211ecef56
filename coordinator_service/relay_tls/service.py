"""HTTPS relays in the app: the zone's DNS and the issuing loop as a background job, the CSR
endpoint, and the TLS fields of the heartbeat answer.

Every replica answers heartbeats from the database; the replica that binds the DNS port runs
the ACME issuing too (the TXT records of its challenges live in its memory).
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, status

from coordinator_service.api.deps import NodeDep, WriteSessionDep
from coordinator_service.api.state import AppContext, context
from coordinator_service.config import Settings
from coordinator_service.errors import ConflictError, ValidationError
from coordinator_service.relay_tls.csr import check_csr
from coordinator_service.relay_tls.dns import ChallengeRecords, RelayDns, parse_listen
from coordinator_service.relay_tls.issuer import AcmeIssuer, IssueError
from coordinator_service.relay_tls.names import tls_name_for
from coordinator_service.relay_tls.store import (
    CertificateCache,
    due_for_issue,
    record_chain,
    record_failure,
    submit_csr,
)
from coordinator_service.services.clock import utcnow
from streamr_protocol.models import ErrorResponse, RelayCsrRequest, RelayCsrResponse

__all__ = ["RelayTls", "install", "relay_tls_of", "router", "tls_answer_fields"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])


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
    tls: RelayTls | None = getattr(app.state, "relay_tls", None)
    return tls


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


@router.post(
    "/me/tls",
    response_model=RelayCsrResponse,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        401: {"model": ErrorResponse, "description": "missing or wrong node token"},
        409: {"model": ErrorResponse, "description": "no relay domain, or no name for this relay"},
        422: {"model": ErrorResponse, "description": "the CSR is not for this node's name"},
    },
    openapi_extra={"security": [{"NodeToken": []}]},
)
async def request_certificate(
    body: RelayCsrRequest, node: NodeDep, session: WriteSessionDep, request: Request
) -> RelayCsrResponse:
    """Take the node's CSR for its relay name; the chain comes back in a heartbeat answer."""
    tls = relay_tls_of(request.app)
    if tls is None:
        raise ConflictError(
            "this coordinator has no relay domain: relays stay on plain HTTP", code="no_relay_tls"
        )
    name = tls.name_for(node.id, node.relay_url)
    if name is None:
        raise ConflictError(
            "this relay's address gets no name under the relay domain (use --tls-cert)",
            code="no_relay_tls",
        )
    csr = check_csr(body.csr, name)
    issued = await submit_csr(session, node.id, name, csr, utcnow())
    if not issued:
        tls.wake.set()
    return RelayCsrResponse(name=name, status="issued" if issued else "pending")


async def run_relay_tls(ctx: AppContext, tls: RelayTls) -> None:
    """Answer the zone's DNS and issue due certificates until cancelled."""
    settings = ctx.settings
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
            await _issue_due(ctx, tls, issuer, settings)
            tls.wake.clear()
            try:
                await asyncio.wait_for(tls.wake.wait(), settings.relay_cert_check_interval)
            except TimeoutError:
                pass
    finally:
        await dns.stop()


async def _issue_due(
    ctx: AppContext, tls: RelayTls, issuer: AcmeIssuer, settings: Settings
) -> None:
    renew_before = timedelta(days=settings.relay_cert_renew_days)
    async with ctx.db.session() as session:
        due = await due_for_issue(session, utcnow(), renew_before)
    retry = timedelta(seconds=min(3600.0, settings.relay_cert_check_interval * 10))
    for item in due:
        try:
            chain = await asyncio.to_thread(issuer.issue, item.csr_pem)
        except IssueError as exc:
            logger.warning("certificate for %s not issued: %s", item.name, exc)
            async with ctx.db.transaction() as session:
                await record_failure(session, item, str(exc), utcnow() + retry)
            continue
        async with ctx.db.transaction() as session:
            await record_chain(session, item, chain, utcnow())
        tls.cache.invalidate()
        logger.info("certificate for %s issued", item.name)


def install(app: FastAPI) -> None:
    """With a relay domain: keep the RelayTls on the app and run its background job."""
    ctx = context(app)
    settings = ctx.settings
    if not settings.relay_domain:
        return
    nameserver = settings.relay_dns_nameserver or urlsplit(settings.public_url).hostname or ""
    if not nameserver:
        raise ValidationError("give --relay-dns-nameserver: the host name the NS record names")
    tls = RelayTls(settings.relay_domain, nameserver, CertificateCache(ctx.db))
    app.state.relay_tls = tls

    async def relay_tls(ctx: AppContext) -> None:
        await run_relay_tls(ctx, tls)

    ctx.background.append(relay_tls)
