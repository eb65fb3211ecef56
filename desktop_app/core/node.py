"""Node: owns the relay, the heartbeats and the status page, and publishes events.

node = Node(config)                     # identity from the data dir, or config.invite
unsubscribe = node.subscribe(print)     # listeners get desktop_app.core.events objects
await node.start()                      # binds ports, joins if needed, starts beating
node.snapshot()                         # the current state, for the UI or the status page
await node.pause(); await node.resume(); await node.stop()
node.set_unsupported({"alex"})          # never relay these, whatever the coordinator assigns
await node.earnings_details()           # payouts and probes, on demand
await node.check_reachability()         # the coordinator fetches the relay from outside now
await node.update_profile(name, handle) # tell the coordinator; keep it in the identity
"""

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from desktop_app.core.audit import Auditor
from desktop_app.core.client import CoordinatorClient
from desktop_app.core.config import Identity, NodeConfig
from desktop_app.core.credit import earnings_update
from desktop_app.core.errors import ConfigError, CoordinatorError, Error, RelayPortError
from desktop_app.core.events import (
    CatalogStream,
    CoordinatorReachabilityChanged,
    EarningsUpdated,
    HeartbeatSent,
    NodeEvent,
    NodeFailed,
    NodeStateChanged,
    NodeStopped,
    ProbeObserved,
    RelayReachabilityChecked,
    RelayStarted,
    RelayStopped,
    StreamLiveChanged,
    StreamsListed,
    StreamStat,
    UpdateAvailable,
    ViewersChanged,
)
from desktop_app.core.heartbeat import HeartbeatLoop
from desktop_app.core.links import safe_download_url
from desktop_app.core.relay.puller import PullSettings
from desktop_app.core.relay.relay import Relay
from desktop_app.core.relay.tls import RelayCertificate
from desktop_app.core.status_page import StatusPage
from desktop_app.core.version import node_version
from streamr_protocol import (
    HeartbeatRequest,
    HeartbeatResponse,
    NodeEarningsResponse,
    NodeRegisterRequest,
    ReachabilityResponse,
    StreamReport,
    parse_invite_link,
)
from streamr_protocol.tasks import cancel_and_wait

__all__ = ["Node", "NodeSnapshot", "RunState", "join", "node_version"]

logger = logging.getLogger(__name__)

STOP_BEAT_S = 2.0  # how long a stopping node waits to tell the coordinator

RunState = Literal["stopped", "starting", "idle", "relaying", "paused", "failed"]


@dataclass(frozen=True)
class NodeSnapshot:
    """Everything the UI or the status page shows, at one moment."""

    state: RunState
    node_id: str | None
    display_name: str | None
    coordinator_url: str | None
    coordinator_reachable: bool | None
    coordinator_state: str | None
    relay_port: int | None
    public_url: str | None
    streams: tuple[StreamStat, ...] = ()
    viewers: int = 0
    bytes_served: int = 0
    last_heartbeat_at: datetime | None = None
    earnings: EarningsUpdated | None = None
    last_error: str | None = None
    version: str = field(default_factory=node_version)


async def join(
    config: NodeConfig, invite_link: str, name: str, payout_handle: str, relay_port: int
) -> Identity:
    """Register with an invite link and store the identity (raises InviteRefused, ...)."""
    try:
        invite = parse_invite_link(invite_link)
    except ValueError as exc:
        raise ConfigError(f"bad invite link: {exc}") from exc
    client = CoordinatorClient(invite.coordinator_url, version=node_version())
    try:
        request = NodeRegisterRequest.model_validate(
            {
                "invite_code": invite.code,
                "display_name": name,
                "payout_handle": payout_handle,
                "relay_url": config.public_url,
                "relay_port": relay_port if relay_port > 0 else None,
                "capacity_kbit": config.capacity_kbit,
                "version": node_version(),
            }
        )
        answer = await client.register(request)
    except ValueError as exc:
        raise ConfigError(f"cannot join: {str(exc).splitlines()[0]}") from exc
    finally:
        await client.aclose()
    identity = Identity(
        node_id=answer.node_id,
        node_token=answer.node_token,
        probe_key=answer.probe_key,
        coordinator_url=invite.coordinator_url,
        relay_url=answer.relay_url,
        display_name=name,
        payout_handle=payout_handle,
        heartbeat_interval_s=answer.heartbeat_interval_s,
    )
    config.save_identity(identity)
    logger.info("joined %s as node %s", invite.coordinator_url, answer.node_id)
    return identity


def _first_error(exc: ValueError) -> str:
    """The first message of a pydantic ValidationError (or any ValueError), on one line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"
    return str(exc).splitlines()[0]


class Node:
    """The friend's node: relay + heartbeats + status page, observable through events."""

    def __init__(self, config: NodeConfig, identity: Identity | None = None) -> None:
        self.config = config
        self.identity = identity
        self.state: RunState = "stopped"
        self._listeners: list[Callable[[NodeEvent], None]] = []
        self._relay: Relay | None = None
        self._status: StatusPage | None = None
        self._client: CoordinatorClient | None = None
        self._heartbeat: HeartbeatLoop | None = None
        self._auditor: Auditor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._beat_task: asyncio.Task[None] | None = None
        self._reachable: bool | None = None
        self._coordinator_state: str | None = None
        self._last_heartbeat_at: datetime | None = None
        self._earnings: EarningsUpdated | None = None
        self._catalog: StreamsListed | None = None
        self._last_error: str | None = None
        self._assigned: dict[str, str] = {}
        self._unsupported: frozenset[str] = frozenset()
        self._viewers = -1
        self._probes_seen: set[tuple[datetime, str]] = set()
        self._certificate: RelayCertificate | None = None
        self.stopped = asyncio.Event()

    # --- observing ---------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[NodeEvent], None]) -> Callable[[], None]:
        """Call `listener` with every event; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _publish(self, event: NodeEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("event listener failed on %s", type(event).__name__)

    def snapshot(self) -> NodeSnapshot:
        relay = self._relay
        streams = tuple(relay.stats()) if relay else ()
        return NodeSnapshot(
            state=self.state,
            node_id=self.identity.node_id if self.identity else None,
            display_name=self.identity.display_name if self.identity else None,
            coordinator_url=self.identity.coordinator_url if self.identity else None,
            coordinator_reachable=self._reachable,
            coordinator_state=self._coordinator_state,
            relay_port=relay.port if relay else None,
            public_url=self.public_url,
            streams=streams,
            viewers=sum(s.viewers for s in streams),
            bytes_served=relay.server.bytes_served() if relay else 0,
            last_heartbeat_at=self._last_heartbeat_at,
            earnings=self._earnings,
            last_error=self._last_error,
        )

    @property
    def relay_port(self) -> int | None:
        return self._relay.port if self._relay else None

    @property
    def status_port(self) -> int | None:
        return self._status.port if self._status else None

    @property
    def public_url(self) -> str | None:
        """The relay base URL viewers and probes use (https://NAME:PORT with a certificate)."""
        if self.config.public_url:
            return self.config.public_url
        if self.identity is None or self._relay is None:
            return None
        parts = urlsplit(self.identity.relay_url)
        scheme, host = parts.scheme, parts.hostname or "127.0.0.1"
        certificate = self._certificate
        if certificate is not None and certificate.name and self._relay.server.ssl_context:
            scheme, host = "https", certificate.name
        host = f"[{host}]" if ":" in host else host
        return urlunsplit((scheme, f"{host}:{self._relay.port}", parts.path, "", ""))

    @property
    def unsupported(self) -> frozenset[str]:
        """Streams the friend chose not to support."""
        return self._unsupported

    def set_unsupported(self, names: Iterable[str]) -> None:
        """Never relay (nor report) these streams, from the next heartbeat on."""
        self._unsupported = frozenset(names)

    async def earnings_details(self) -> NodeEarningsResponse | None:
        """This node's earnings answer with payouts and probes; None when unknown."""
        if self._client is None:
            return None
        try:
            return await self._client.earnings()
        except CoordinatorError as exc:
            logger.debug("earnings not available: %s", exc)
            return None

    async def check_reachability(self) -> ReachabilityResponse:
        """Ask the coordinator to fetch this relay from outside now; publish the answer.

        Raises CoordinatorError (unreachable, token refused) or ConfigError when not started.
        """
        if self._client is None:
            raise ConfigError("the node is not running: start it first")
        answer = await self._client.check_reachability()
        self._publish(RelayReachabilityChecked(answer.reachable, answer.reason, answer.detail))
        return answer

    async def update_profile(
        self, display_name: str | None = None, payout_handle: str | None = None
    ) -> None:
        """Change the name and/or payout handle at the coordinator, then in the stored identity.

        Raises ConfigError (not started, or text the protocol refuses) or CoordinatorError.
        """
        if self._client is None or self.identity is None:
            raise ConfigError("the node is not running: start it first")
        try:
            answer = await self._client.update_profile(display_name, payout_handle)
        except ValueError as exc:
            raise ConfigError(f"cannot change the profile: {_first_error(exc)}") from exc
        self.identity = self.identity.model_copy(
            update={"display_name": answer.display_name, "payout_handle": answer.payout_handle}
        )
        self.config.save_identity(self.identity)
        logger.info("profile changed at the coordinator")

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the relay and status ports, join if needed, start relaying and beating.

        Raises RelayPortError, ConfigError or InviteRefused with a one-line message.
        """
        self.state = "starting"
        config = self.config
        if self.identity is None:
            self.identity = config.load_identity()
        if self.identity is None and not config.invite:
            self.state = "failed"
            raise ConfigError("this node has not joined yet: start it with --invite LINK")
        self._relay = Relay(
            host=config.relay_host,
            port=config.relay_port,
            upload_cap_mbit=config.upload_cap_mbit,
            probe_key=lambda: self.identity.probe_key if self.identity else None,
            relay_url=lambda: self.public_url,
            settings=PullSettings(grace_s=config.offline_grace_s),
            on_live_changed=self._on_live_changed,
        )
        self._status = StatusPage(self.snapshot, port=config.status_port)
        try:
            self._certificate = RelayCertificate(config.data_dir, config.tls_cert, config.tls_key)
            if self._certificate.context is not None:
                await self._relay.server.use_tls(self._certificate.context)
            await self._relay.start()
            await self._status.start()
            if self.identity is None:
                assert config.invite is not None
                self.identity = await join(
                    config,
                    config.invite,
                    config.name or "",
                    config.payout_handle or "",
                    self._relay.port,
                )
        except Error as exc:
            await self._teardown()
            self.state = "failed"
            self._last_error = str(exc)
            kind = "port" if isinstance(exc, RelayPortError) else ""
            self._publish(NodeFailed(str(exc), fatal=True, kind=kind))
            raise
        public = self.public_url or ""
        self._publish(RelayStarted(config.relay_host, self._relay.port, public))
        logger.info(
            "relay public URL %s, status page http://127.0.0.1:%d/", public, self._status.port
        )
        self._client = CoordinatorClient(
            self.identity.coordinator_url, self.identity.node_token, version=node_version()
        )
        wildcard = config.relay_host in ("", "0.0.0.0", "::")
        self._auditor = Auditor(self._client.report_audits, None if wildcard else config.relay_host)
        self._heartbeat = HeartbeatLoop(
            self._client,
            self._heartbeat_request,
            self._on_heartbeat,
            self._on_reachability,
            self._on_rejected,
            interval_s=self.identity.heartbeat_interval_s,
            backoff_max_s=config.heartbeat_backoff_max_s,
            on_error=self._on_heartbeat_error,
        )
        self.state = "idle"
        self.stopped.clear()
        self._beat_task = asyncio.create_task(self._heartbeat.run(), name="heartbeat")
        self._tasks = [
            asyncio.create_task(self._watch_viewers(), name="viewers"),
            asyncio.create_task(self._poll_earnings(), name="earnings"),
        ]

    async def leave(self) -> None:
        """Tell the coordinator this node leaves (CoordinatorError when it cannot be told)."""
        if self._client is None:
            raise ConfigError("the node is not running: start it first")
        await self._client.leave()
        logger.info("left %s", self._client.base_url)

    async def stop(self, reason: str = "stopped", *, announce: bool = True) -> None:
        """Stop everything; idempotent. With `announce`, a last beat tells the coordinator first."""
        if self.state == "stopped":
            return
        if announce:
            await self._announce_stop()
        await self._teardown()
        self.state = "stopped"
        self._publish(RelayStopped(reason))
        self._publish(NodeStopped())
        self.stopped.set()

    async def _announce_stop(self) -> None:
        """Send one last beat saying the relay stops, so the probes that fail from now on count
        as a friend quitting, not as a relay failing (best effort, at most STOP_BEAT_S)."""
        if self._client is None or self._relay is None or self.state in ("paused", "failed"):
            return
        if self._beat_task is not None:  # an ordinary beat landing after this one would undo it
            await cancel_and_wait(self._beat_task)
            self._beat_task = None
        self.state = "paused"
        try:
            async with asyncio.timeout(STOP_BEAT_S):
                await self._client.heartbeat(self._heartbeat_request())
        except (Error, TimeoutError, OSError) as exc:
            logger.debug("could not announce the stop: %s", exc)

    async def _teardown(self) -> None:
        tasks = [*self._tasks, *([self._beat_task] if self._beat_task else [])]
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        for task in tasks:
            if task is not current:
                await cancel_and_wait(task)
        self._tasks, self._beat_task = [], None
        if self._relay is not None:
            await self._relay.stop()
        if self._status is not None:
            await self._status.stop()
        if self._auditor is not None:
            await self._auditor.aclose()
            self._auditor = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def pause(self) -> None:
        """Stop supporting: no pulling, no serving; the beats go on and announce the pause, so
        the coordinator neither counts the node silent nor credits it (the port stays bound)."""
        if self._relay is None or self.state in ("paused", "stopped", "failed"):
            return
        self._relay.paused = True
        self._assigned = {}
        await self._relay.set_streams({})
        self.state = "paused"
        if self._heartbeat is not None:
            self._heartbeat.beat_now()
        logger.info("paused: not relaying until resumed")

    async def resume(self) -> None:
        """Support again: heartbeat now and relay what the coordinator assigns."""
        if self._relay is None or self.state != "paused":
            return
        self._relay.paused = False
        self.state = "idle"
        if self._heartbeat is not None:
            self._heartbeat.beat_now()
        logger.info("resumed")

    # --- heartbeats ----------------------------------------------------------------------------

    def _heartbeat_request(self) -> HeartbeatRequest:
        assert self._relay is not None
        reports = []
        for stat in self._relay.stats():
            puller = self._relay.pullers.get(stat.name)
            reports.append(
                StreamReport(
                    name=stat.name,
                    live=stat.live,
                    segments_cached=stat.segments_cached,
                    newest_sequence=puller.newest_sequence if puller else None,
                    bytes_served=stat.bytes_served,
                    viewers=stat.viewers,
                )
            )
        return HeartbeatRequest.model_validate(
            {
                "relay_url": self.public_url,
                "streams": [r.model_dump() for r in reports],
                "bytes_served": self._relay.server.bytes_served(),
                "viewers": sum(r.viewers for r in reports),
                "capacity_kbit": self.config.capacity_kbit,
                "version": node_version(),
                "audits": self.state != "paused",
                "segment_proofs": True,
                "paused": self.state == "paused",
                "tls_certificate_sha256": self._certificate.held_sha256
                if self._certificate
                else None,
            }
        )

    async def _on_heartbeat(self, answer: HeartbeatResponse) -> None:
        assert self._relay is not None
        self._last_heartbeat_at = datetime.now(UTC)
        if answer.state != self._coordinator_state:
            if self._coordinator_state is not None or answer.state != "healthy":
                logger.info("the coordinator rates this node: %s", answer.state)
            self._coordinator_state = answer.state
            self._publish(NodeStateChanged(answer.state))
        if answer.state == "banned":
            await self._on_rejected("the coordinator has banned this node")
            return
        if answer.audits and self._auditor is not None:
            self._auditor.take(answer.audits)
        wanted = {a.name: a.origin_url for a in answer.streams if a.name not in self._unsupported}
        if self.state == "paused":
            wanted = {}
        if wanted != self._assigned:
            self._assigned = wanted
            await self._relay.set_streams(wanted)
        if self.state != "paused":
            self.state = "relaying" if self._relay.pullers else "idle"
        await self._on_tls(answer)
        if answer.update is not None:
            url = safe_download_url(answer.update.download_url)
            if url is None:
                logger.warning("ignoring an update link that is not http(s)")
            else:
                self._publish(UpdateAvailable(answer.update.version[:32], url))
        self._publish(HeartbeatSent(self._last_heartbeat_at, answer.state, tuple(wanted)))

    def _on_heartbeat_error(self, message: str) -> None:
        """The beat could not even be built: the friend must see it (no silent dead task)."""
        self._last_error = message
        self._publish(NodeFailed(message, fatal=False))

    async def _on_tls(self, answer: HeartbeatResponse) -> None:
        """Ask for the relay's certificate, or serve HTTPS with the one the answer carries."""
        certificate, relay, client = self._certificate, self._relay, self._client
        if certificate is None or relay is None or client is None:
            return
        try:
            loaded = await certificate.on_answer(
                answer.tls_name, answer.tls_certificate, client.request_certificate
            )
        except ConfigError as exc:
            logger.warning("relay certificate not used: %s", exc)
            return
        if loaded and certificate.context is not None:
            await relay.server.use_tls(certificate.context)
            logger.info("relay public URL %s", self.public_url)

    def _on_reachability(self, reachable: bool, detail: str) -> None:
        self._reachable = reachable
        self._publish(CoordinatorReachabilityChanged(reachable, detail))

    async def _on_rejected(self, message: str) -> None:
        """Token revoked or node banned: stop and say so."""
        self._last_error = message
        logger.error("%s; stopping", message)
        self._publish(NodeFailed(message, fatal=True))
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(self._fail_stop(message))
        )

    async def _fail_stop(self, message: str) -> None:
        await self.stop(message, announce=False)
        self.state = "failed"

    # --- periodic --------------------------------------------------------------------------

    def _on_live_changed(self, stream: str, live: bool) -> None:
        # the relay drops a puller from its streams before stopping it
        stopped = not live and (self._relay is None or stream not in self._relay.pullers)
        self._publish(StreamLiveChanged(stream, live, stopped=stopped))
        if live and self._heartbeat is not None:
            # tell the coordinator at once: credit starts with the relay, not a beat later
            self._heartbeat.beat_now()

    async def _watch_viewers(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            if self._relay is None:
                continue
            per_stream = {s.name: s.viewers for s in self._relay.stats()}
            total = sum(per_stream.values())
            if total != self._viewers:
                self._viewers = total
                self._publish(ViewersChanged(total, per_stream))

    async def _poll_earnings(self) -> None:
        while True:
            if self._reachable:
                earnings = await self.earnings_details()
                if earnings is not None:
                    update = earnings_update(earnings)
                    if update != self._earnings:
                        self._earnings = update
                        self._publish(update)
                    for probe in earnings.probes:
                        key = (probe.at, probe.reason)
                        if key not in self._probes_seen:
                            self._probes_seen.add(key)
                            self._publish(
                                ProbeObserved(probe.at, probe.ok, probe.reason, probe.detail)
                            )
                await self._list_streams()
            await asyncio.sleep(self.config.earnings_interval_s)

    async def _list_streams(self) -> None:
        """Publish the coordinator's streams (StreamsListed) when the list changed."""
        if self._client is None:
            return
        try:
            listed = await self._client.list_streams()
        except CoordinatorError as exc:
            logger.debug("stream list not available: %s", exc)
            return
        catalog = StreamsListed(tuple(CatalogStream(s.name, s.live) for s in listed))
        if catalog != self._catalog:
            self._catalog = catalog
            self._publish(catalog)
