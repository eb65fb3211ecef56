"""ORM tables of the coordinator; they never cross the wire (routes map them to protocol models)."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "AddressApproval",
    "AppSetting",
    "Base",
    "FlagInterval",
    "Invite",
    "Node",
    "NodeCapacityChange",
    "NodeProfileChange",
    "Payout",
    "PeerAudit",
    "PayoutLine",
    "Probe",
    "ProbeLease",
    "RelayEndpoint",
    "RelayCertificate",
    "Stream",
    "StreamBitrateChange",
    "StreamLiveInterval",
    "StreamPoolChange",
    "UTCDateTime",
    "UptimeInterval",
    "ViewerReport",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


UTC_DATETIME = UTCDateTime()


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Stream(Base):
    """A host's live stream; `name` is its id in every URL."""

    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    origin_url: Mapped[str] = mapped_column(String(2048))
    pool_per_hour_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    live_changed_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    # the secret OBS appends as `NAME?key=…`; checked by the SRS on_publish hook
    publish_key: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # SRS's latest hook for the stream (on_publish: True): authoritative over the origin poller
    hook_live: Mapped[bool | None] = mapped_column(Boolean, nullable=True, default=None)
    hook_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, nullable=True, default=None)


class StreamPoolChange(Base):
    """A stream's pool and currency from `effective_from` on (the ledger integrates over them)."""

    __tablename__ = "stream_pool_history"
    __table_args__ = (Index("ix_stream_pool_history_stream_from", "stream_id", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    effective_from: Mapped[datetime] = mapped_column(UTC_DATETIME)
    pool_per_hour_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class StreamLiveInterval(Base):
    """A span of time, by the coordinator's clock, in which a stream was live at its origin."""

    __tablename__ = "stream_live_intervals"
    __table_args__ = (Index("ix_stream_live_stream_end", "stream_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    ended_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class Invite(Base):
    """An invite; only the SHA-256 of its code is kept."""

    __tablename__ = "invites"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    max_uses: Mapped[int] = mapped_column(Integer)
    uses_left: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    revoked_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    created_by: Mapped[str] = mapped_column(String(64), default="admin")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class Node(Base):
    """A friend's node. `status` is what the host decided (active/banned); health is derived."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    probe_key: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(64))
    payout_handle: Mapped[str] = mapped_column(String(128))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    relay_url: Mapped[str] = mapped_column(String(2048))
    registered_ip: Mapped[str] = mapped_column(String(64), default="")
    capacity_kbit: Mapped[int] = mapped_column(Integer, default=0)
    viewers: Mapped[int] = mapped_column(Integer, default=0)
    bytes_served: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[str] = mapped_column(String(32), default="")
    invite_id: Mapped[str | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Beta reputation with forgetting (see prober/reputation.py); starts trusting at the fixed
    # point of a node that always passed, α = 1 / (1 − λ) = 20 (trust: changed from 1.0).
    reputation_alpha: Mapped[float] = mapped_column(Float, default=20.0)
    reputation_beta: Mapped[float] = mapped_column(Float, default=0.0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    streams_reported: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, index=True)
    next_probe_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME, index=True)
    profile_changed_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)

    invite: Mapped["Invite | None"] = relationship(lazy="raise")


class NodeProfileChange(Base):
    """A friend changed their display name or payout handle: the values before and after."""

    __tablename__ = "node_profile_changes"
    __table_args__ = (Index("ix_node_profile_changes_node_at", "node_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    old_display_name: Mapped[str] = mapped_column(String(64))
    new_display_name: Mapped[str] = mapped_column(String(64))
    old_payout_handle: Mapped[str] = mapped_column(String(128))
    new_payout_handle: Mapped[str] = mapped_column(String(128))


class UptimeInterval(Base):
    """Heartbeat coverage of a node, by the coordinator's clock.

    `stream_id` NULL: the node was up; a stream id: the node was up and reported relaying it live.
    A beat within the grace window extends the open interval; after a gap a new one starts.
    """

    __tablename__ = "uptime_intervals"
    __table_args__ = (
        Index("ix_uptime_node_stream_end", "node_id", "stream_id", "ended_at"),
        Index("ix_uptime_stream_end", "stream_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    ended_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class FlagInterval(Base):
    """A span in which a node was flagged by its reputation; it earns nothing then."""

    __tablename__ = "flag_intervals"
    __table_args__ = (Index("ix_flag_node_start", "node_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    ended_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Probe(Base):
    """One spot-check of a node's relay, with its reason."""

    __tablename__ = "probes"
    __table_args__ = (Index("ix_probes_node_at", "node_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTC_DATETIME, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(500), default="")
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    reputation_after: Mapped[float | None] = mapped_column(Float)
    # what was probed: the node's relay URL then, and the IP:port it resolved to (its identity)
    relay_url: Mapped[str] = mapped_column(String(2048), default="", server_default="")
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")


class RelayEndpoint(Base):
    """A relay URL a node took, from when (registration or a heartbeat that changed it)."""

    __tablename__ = "relay_endpoints"
    __table_args__ = (Index("ix_relay_endpoints_node_start", "node_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    relay_url: Mapped[str] = mapped_column(String(2048))
    started_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class NodeCapacityChange(Base):
    """A node's upload capacity (kbit/s) from `started_at` on: written at registration and by a
    heartbeat whose capacity differs from the stored one (the ledger's viewer slot rule)."""

    __tablename__ = "node_capacity_changes"
    __table_args__ = (Index("ix_node_capacity_changes_node_start", "node_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    capacity_kbit: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class StreamBitrateChange(Base):
    """The bitrate (kbit/s) of one viewer slot of a stream from `started_at` on: its lowest
    variant measured at the origin, written when it moves (`prober/bitrate.py`)."""

    __tablename__ = "stream_bitrate_changes"
    __table_args__ = (Index("ix_stream_bitrate_changes_stream_start", "stream_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    slot_kbit: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class AddressApproval(Base):
    """The host's approval for several credited nodes of one stream behind one address."""

    __tablename__ = "address_approvals"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    max_nodes: Mapped[int] = mapped_column(Integer)
    approved_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class ProbeLease(Base):
    """Which coordinator replica probes a node this cycle (so replicas never double-probe)."""

    __tablename__ = "probe_leases"

    node_id: Mapped[str] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTC_DATETIME)


class Payout(Base):
    """An immutable computed payout for a period (and optionally one stream)."""

    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id", ondelete="RESTRICT"))
    period_from: Mapped[datetime] = mapped_column(UTC_DATETIME)
    period_to: Mapped[datetime] = mapped_column(UTC_DATETIME)
    computed_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    pool_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    live_seconds: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    voided_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)

    lines: Mapped[list["PayoutLine"]] = relationship(
        lazy="raise", order_by="PayoutLine.position", cascade="all, delete-orphan"
    )


class PayoutLine(Base):
    """One node's share of a payout, with the name and handle as they were when computed."""

    __tablename__ = "payout_lines"
    __table_args__ = (UniqueConstraint("payout_id", "node_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payout_id: Mapped[str] = mapped_column(ForeignKey("payouts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    node_id: Mapped[str] = mapped_column(String(32), index=True)
    display_name: Mapped[str] = mapped_column(String(64))
    payout_handle: Mapped[str] = mapped_column(String(128))
    credited_seconds: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class AppSetting(Base):
    """Small host settings: newest app version, download URL, SRS hook secret."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RelayCertificate(Base):
    """A node's relay name under the relay domain: its CSR and the chain the ACME CA issued."""

    __tablename__ = "relay_certificates"

    node_id: Mapped[str] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255))
    csr_pem: Mapped[str] = mapped_column(Text)
    chain_pem: Mapped[str | None] = mapped_column(Text)
    chain_sha256: Mapped[str | None] = mapped_column(String(64))
    not_after: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    requested_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    issued_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ViewerReport(Base):
    """One beacon batch's outcome for one pathway (a node, or NULL for the origin).

    `address` is the viewer's address (IPv4, or the IPv6 /64) and `viewer` the random id of the
    report token, so evidence can count distinct viewers; counts and sums, not rows per segment.
    """

    __tablename__ = "viewer_reports"
    __table_args__ = (
        Index("ix_viewer_reports_node_at", "node_id", "at"),
        Index("ix_viewer_reports_viewer_at", "viewer", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTC_DATETIME, index=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    node_id: Mapped[str | None] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(64))
    viewer: Mapped[str] = mapped_column(String(32))
    ok_count: Mapped[int] = mapped_column(Integer)
    fail_count: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    ms: Mapped[int] = mapped_column(BigInteger)


class PeerAudit(Base):
    """A node (`auditor_id`) asked to fetch a stream from another node's relay (`node_id`).

    Assigned by the coordinator, carried in the auditor's heartbeat answer, answered through
    `POST /api/v1/nodes/audits`; `reason` is the coordinator's verdict on the report ("" while
    pending), `counted` whether it fed the target's reputation.
    """

    __tablename__ = "peer_audits"
    __table_args__ = (
        Index("ix_peer_audits_auditor_assigned", "auditor_id", "assigned_at"),
        Index("ix_peer_audits_node_reported", "node_id", "reported_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    auditor_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    assigned_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    expires_at: Mapped[datetime] = mapped_column(UTC_DATETIME)
    delivered_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    reported_at: Mapped[datetime | None] = mapped_column(UTC_DATETIME)
    status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    ttfb_ms: Mapped[int | None] = mapped_column(Integer)
    total_ms: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(32), default="")
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
