"""Requests and responses between node, coordinator and host, named by role."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    UrlConstraints,
    field_validator,
)

from streamr_protocol.text import printable_text

__all__ = [
    "MAX_CAPACITY_KBIT",
    "STREAM_NAME_PATTERN",
    "AddressApproveRequest",
    "AddressDecisionRequest",
    "AdminNodeResponse",
    "AuditAssignment",
    "AuditReport",
    "AuditReportBatch",
    "AuditReportsAccepted",
    "CREDIT_REASONS",
    "CreditBreakdown",
    "CreditLost",
    "ErrorBody",
    "ErrorResponse",
    "HeartbeatRequest",
    "HeartbeatResponse",
    "InviteCreateRequest",
    "InviteCreatedResponse",
    "InviteCheckResponse",
    "InviteResponse",
    "LeaderboardEntry",
    "LeaderboardResponse",
    "NodeEarningsResponse",
    "NodeProfileUpdateRequest",
    "NodeRegisterRequest",
    "NodeRegisterResponse",
    "NodeState",
    "NodeStatusResponse",
    "PayoutComputeRequest",
    "PayoutLineResponse",
    "PayoutResponse",
    "PayoutListItem",
    "PayoutSummary",
    "ProbeRecord",
    "ReachabilityResponse",
    "RelayCsrRequest",
    "RelayCsrResponse",
    "SharedAddressNode",
    "SharedAddressResponse",
    "SharedAddressState",
    "StreamAssignment",
    "StreamCreateRequest",
    "StreamReport",
    "StreamResponse",
    "StreamUpdateRequest",
    "UpdateAnnounceRequest",
    "UpdateInfo",
]

STREAM_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

StreamName = Annotated[str, StringConstraints(pattern=STREAM_NAME_PATTERN)]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(printable_text),
]
PayoutHandle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    AfterValidator(printable_text),
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Version = Annotated[str, StringConstraints(max_length=32)]
NodeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
HttpUrl = Annotated[
    AnyHttpUrl, UrlConstraints(max_length=2048), Field(description="http or https URL")
]
MAX_COUNTER = 2**62  # fits a signed 64-bit column with room to add
MAX_CAPACITY_KBIT = 10_000_000  # 10 Gbit/s: the most upload capacity a node may claim

NodeState = Literal["healthy", "flagged", "silent", "banned", "unreachable", "new", "left"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4096)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        """Refuse text no database can keep: NUL characters and lone surrogates."""
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("text must not contain NUL characters")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError("text must be valid Unicode") from exc
        return value


class ErrorBody(_Model):
    code: str
    message: str


class ErrorResponse(_Model):
    """The shape of every 4xx/5xx body."""

    error: ErrorBody


# --- node ↔ coordinator -------------------------------------------------------------------


class NodeRegisterRequest(_Model):
    """A friend's node joins with an invite code."""

    invite_code: Annotated[str, StringConstraints(min_length=16, max_length=128)]
    display_name: DisplayName
    payout_handle: PayoutHandle
    relay_url: HttpUrl | None = Field(
        default=None, description="public relay base URL; default: the caller's address"
    )
    relay_port: int | None = Field(default=None, ge=1, le=65535)
    capacity_kbit: int = Field(default=10_000, ge=0, le=MAX_CAPACITY_KBIT)
    anonymous: bool = False
    version: Version = "0"


class NodeRegisterResponse(_Model):
    """Shown once: the node keeps its token and probe key secret."""

    node_id: NodeId
    node_token: str
    probe_key: str
    relay_url: str
    heartbeat_interval_s: int


class StreamReport(_Model):
    """What the node holds of one stream."""

    name: StreamName
    live: bool
    segments_cached: int = Field(default=0, ge=0, le=1_000_000)
    newest_sequence: int | None = Field(default=None, ge=0, le=MAX_COUNTER)
    bytes_served: int = Field(default=0, ge=0, le=MAX_COUNTER)
    viewers: int = Field(default=0, ge=0, le=1_000_000)


class HeartbeatRequest(_Model):
    """Sent every interval by a node."""

    relay_url: HttpUrl | None = None
    streams: list[StreamReport] = Field(default_factory=list, max_length=64)
    bytes_served: int = Field(default=0, ge=0, le=MAX_COUNTER)
    viewers: int = Field(default=0, ge=0, le=1_000_000)
    capacity_kbit: int = Field(default=10_000, ge=0, le=MAX_CAPACITY_KBIT)
    version: Version = "0"
    audits: bool = False
    """This node performs peer audits: the answer may carry `audits` (older nodes never ask)."""
    segment_proofs: bool = Field(
        default=False, description="the relay signs every segment (older nodes: nonce probes)"
    )
    paused: bool = Field(
        default=False, description="the friend paused: keep the node, relay and credit nothing"
    )
    tls_certificate_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the relay certificate chain the node holds (sent when it has one)",
    )


class StreamAssignment(_Model):
    """A stream the node should relay."""

    name: StreamName
    origin_url: str


class UpdateInfo(_Model):
    """The newest app version the host announces."""

    version: str
    download_url: str


class AuditAssignment(_Model):
    """Fetch a stream from another node's relay as a player would, then report it."""

    id: str = Field(min_length=1, max_length=32)
    url: str = Field(max_length=2048)
    expires_at: datetime


class HeartbeatResponse(_Model):
    interval_s: int
    streams: list[StreamAssignment]
    state: NodeState
    server_time: datetime
    update: UpdateInfo | None = None
    tls_name: str | None = Field(
        default=None, description="the relay name the coordinator certifies for this node"
    )
    tls_certificate: str | None = Field(
        default=None,
        max_length=65536,
        description="PEM chain for tls_name, sent when the node does not hold it yet",
    )
    audits: list[AuditAssignment] | None = None


class AuditReport(_Model):
    """What an auditor got: HTTP status, bytes and SHA-256 of one segment, and timings."""

    id: str = Field(min_length=1, max_length=32)
    status: int = Field(default=0, ge=0, le=999)
    bytes: int = Field(default=0, ge=0, le=1 << 31)
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    ttfb_ms: int = Field(default=0, ge=0, le=600_000)
    total_ms: int = Field(default=0, ge=0, le=600_000)
    error: str = Field(default="", max_length=200)


class AuditReportBatch(_Model):
    """Sent by an auditor to `POST /api/v1/nodes/audits`."""

    reports: list[AuditReport] = Field(min_length=1, max_length=32)


class AuditReportsAccepted(_Model):
    accepted: int


class RelayCsrRequest(_Model):
    """A node asks for a certificate of its relay name (its private key stays on the node)."""

    csr: str = Field(max_length=16384, description="PEM certificate signing request")


class RelayCsrResponse(_Model):
    """The coordinator took the CSR; the chain arrives in a later heartbeat answer."""

    name: str
    status: Literal["pending", "issued"]


class ProbeRecord(_Model):
    """One spot-check of a node's relay."""

    at: datetime
    node_id: str
    stream: str | None
    ok: bool
    reason: str
    detail: str = ""
    latency_ms: int | None = None


class NodeStatusResponse(_Model):
    """A node's view of itself."""

    node_id: str
    display_name: str
    payout_handle: str
    state: NodeState
    reputation: float
    relay_url: str
    last_heartbeat_at: datetime | None
    created_at: datetime
    profile_changed_at: datetime | None = None


class NodeProfileUpdateRequest(_Model):
    """A friend changes their display name or payout handle (the host sees when)."""

    display_name: DisplayName | None = None
    payout_handle: PayoutHandle | None = None


class ReachabilityResponse(_Model):
    """The coordinator's on-demand check of a node's relay URL from outside."""

    reachable: bool
    reason: str = Field(description="ok, refused, timeout, http_error, private_address, no_relay")
    detail: str = ""
    relay_url: str
    latency_ms: int | None = None


class PayoutSummary(_Model):
    payout_id: str
    stream: str | None
    period_from: datetime
    period_to: datetime
    amount_minor: int
    currency: str
    paid_at: datetime | None


CREDIT_REASONS = (
    "not_relaying",
    "not_live",
    "flagged",
    "unverified",
    "no_slot",
    "banned",
    "shared_relay",
)
"""Why time was not credited, as stable codes; a newer coordinator may send others ("other")."""


class CreditLost(_Model):
    """Seconds of the period not credited for one reason, in plain words with how to fix it."""

    reason: str = Field(max_length=64, description="a code of CREDIT_REASONS, or another one")
    seconds: int = Field(ge=0)
    text: str = Field(default="", description="what happened, in plain words")
    advice: str = Field(default="", description="how to fix it (empty: nothing to fix)")


class CreditBreakdown(_Model):
    """A node's time online in the current period, what was credited, and why the rest was not.

    `up_seconds - sum(lost seconds) == credited_seconds` (the ledger's own rule, traced).
    """

    up_seconds: int = Field(ge=0)
    credited_seconds: int = Field(ge=0)
    lost: list[CreditLost] = Field(default_factory=list)


class NodeEarningsResponse(_Model):
    """A node's own earnings and probe record; `credit` only when asked for (`?credit=1`)."""

    currency: str
    today_minor: int
    period_minor: int
    period_from: datetime
    credited_seconds_today: int
    payouts: list[PayoutSummary]
    probes: list[ProbeRecord]
    credit: CreditBreakdown | None = None


# --- public ----------------------------------------------------------------------------------


class StreamResponse(_Model):
    name: str
    origin_url: str
    pool_per_hour_minor: int
    currency: str
    live: bool
    paused: bool
    watch_url: str


class LeaderboardEntry(_Model):
    rank: int
    display_name: str
    stream: str | None
    credited_seconds: int
    earned_minor: int
    currency: str


class LeaderboardResponse(_Model):
    period_from: datetime
    period_to: datetime
    entries: list[LeaderboardEntry]


# --- host (admin) ----------------------------------------------------------------------------


class StreamCreateRequest(_Model):
    name: StreamName
    origin_url: HttpUrl
    pool_per_hour_minor: int = Field(ge=0, le=10**12)
    currency: Currency = "USD"


class StreamUpdateRequest(_Model):
    origin_url: HttpUrl | None = None
    pool_per_hour_minor: int | None = Field(default=None, ge=0, le=10**12)
    currency: Currency | None = None
    paused: bool | None = None


class UpdateAnnounceRequest(_Model):
    """The host announces the newest app version; nodes see it in heartbeat answers."""

    version: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    download_url: HttpUrl


class InviteCreateRequest(_Model):
    uses: int = Field(default=1, ge=1, le=10_000)
    expires_in_s: int | None = Field(default=7 * 24 * 3600, ge=60, le=365 * 24 * 3600)
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class InviteCheckResponse(_Model):
    """Whether an invite code can still be used (the app checks before asking for names)."""

    status: Literal["active", "invalid", "revoked", "expired", "used"]


class InviteResponse(_Model):
    id: str
    uses_left: int
    max_uses: int
    expires_at: datetime | None
    revoked: bool
    created_at: datetime
    note: str


class InviteCreatedResponse(InviteResponse):
    """Shown once: the code is stored only hashed."""

    link: str
    code: str


class AdminNodeResponse(_Model):
    node_id: str
    display_name: str
    payout_handle: str
    state: NodeState
    reputation: float
    relay_url: str
    last_heartbeat_at: datetime | None
    viewers: int
    capacity_kbit: int
    bytes_served: int
    version: str
    invite_id: str | None
    created_at: datetime
    profile_changed_at: datetime | None = None


class PayoutComputeRequest(_Model):
    period_from: datetime
    period_to: datetime
    stream: StreamName | None = None
    dry_run: bool = False


class PayoutLineResponse(_Model):
    node_id: str
    display_name: str
    payout_handle: str
    credited_seconds: int
    amount_minor: int


class PayoutResponse(_Model):
    payout_id: str
    stream: str | None
    period_from: datetime
    period_to: datetime
    computed_at: datetime
    pool_minor: int
    currency: str
    live_seconds: int
    paid_at: datetime | None
    voided_at: datetime | None
    lines: list[PayoutLineResponse]


class PayoutListItem(_Model):
    """A stored payout without its lines (the admin list)."""

    payout_id: str
    stream: str | None
    period_from: datetime
    period_to: datetime
    computed_at: datetime
    pool_minor: int
    currency: str
    live_seconds: int
    nodes: int
    paid_at: datetime | None
    voided_at: datetime | None


# --- host: nodes from one address (one person, one share) --------------------------------

SharedAddressState = Literal["pending", "approved", "kept_one"]


class SharedAddressNode(_Model):
    node_id: str
    display_name: str
    credited: bool


class SharedAddressResponse(_Model):
    """Nodes of one stream credited from one address in the last day, and the host's decision."""

    stream: str
    address: str
    addresses: list[str]
    state: SharedAddressState
    max_nodes: int | None
    approved_at: datetime | None
    nodes: list[SharedAddressNode]


class AddressDecisionRequest(_Model):
    """Name a group by its stream and an address as listed (IP, IPv6 /64, or IP:PORT)."""

    stream: StreamName
    address: str = Field(min_length=1, max_length=64)


class AddressApproveRequest(AddressDecisionRequest):
    max_nodes: int | None = Field(default=None, ge=2, le=100)
