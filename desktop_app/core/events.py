"""Events the node core publishes; the tray app (or the headless logger) observes them."""

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "CoordinatorReachabilityChanged",
    "Credit",
    "CreditLoss",
    "EarningsUpdated",
    "HeartbeatSent",
    "NodeEvent",
    "NodeStateChanged",
    "NodeStopped",
    "ProbeObserved",
    "RelayReachabilityChecked",
    "RelayStarted",
    "RelayStopped",
    "CatalogStream",
    "StreamLiveChanged",
    "StreamStat",
    "StreamsListed",
    "UpdateAvailable",
    "ViewersChanged",
    "NodeFailed",
]


@dataclass(frozen=True)
class StreamStat:
    """What the relay holds and served of one stream."""

    name: str
    live: bool
    segments_cached: int
    bytes_cached: int
    bytes_served: int
    viewers: int
    viewers_served_total: int


@dataclass(frozen=True)
class RelayStarted:
    host: str
    port: int
    public_url: str


@dataclass(frozen=True)
class RelayStopped:
    reason: str


@dataclass(frozen=True)
class StreamLiveChanged:
    stream: str
    live: bool
    stopped: bool = False  # not live because the node stopped relaying it (shutdown, unassigned)


@dataclass(frozen=True)
class ViewersChanged:
    viewers: int
    per_stream: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class HeartbeatSent:
    at: datetime
    state: str
    streams: tuple[str, ...]


@dataclass(frozen=True)
class CoordinatorReachabilityChanged:
    reachable: bool
    detail: str = ""


@dataclass(frozen=True)
class NodeStateChanged:
    """The coordinator's verdict on this node: healthy, flagged, silent, banned, ..."""

    state: str


@dataclass(frozen=True)
class ProbeObserved:
    at: datetime
    ok: bool
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class CreditLoss:
    """Seconds of this period not credited: the host's code, what happened, how to fix it."""

    reason: str
    seconds: int
    text: str = ""
    advice: str = ""


@dataclass(frozen=True)
class Credit:
    """This period's time online, what of it was credited, and why the rest was not."""

    up_seconds: int
    credited_seconds: int
    lost: tuple[CreditLoss, ...] = ()


@dataclass(frozen=True)
class EarningsUpdated:
    """The host's estimate of today and this period; `credit` when the host explains it."""

    currency: str
    today_minor: int
    period_minor: int
    credit: Credit | None = None


@dataclass(frozen=True)
class CatalogStream:
    """One stream the coordinator lists (assigned to this node or not)."""

    name: str
    live: bool


@dataclass(frozen=True)
class StreamsListed:
    """Every stream of the coordinator, published when the list changes."""

    streams: tuple[CatalogStream, ...]


@dataclass(frozen=True)
class RelayReachabilityChecked:
    """The coordinator fetched this relay from outside on request (`Node.check_reachability`)."""

    reachable: bool
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class UpdateAvailable:
    version: str
    download_url: str


@dataclass(frozen=True)
class NodeFailed:
    """Something the friend must act on (port taken, banned, invite refused).

    `kind` names what the app can offer to fix: "port" (pick another port) or "" (nothing).
    """

    message: str
    fatal: bool = False
    kind: str = ""


@dataclass(frozen=True)
class NodeStopped:
    pass


NodeEvent = (
    RelayStarted
    | RelayStopped
    | StreamLiveChanged
    | ViewersChanged
    | HeartbeatSent
    | CoordinatorReachabilityChanged
    | NodeStateChanged
    | ProbeObserved
    | EarningsUpdated
    | StreamsListed
    | RelayReachabilityChecked
    | UpdateAvailable
    | NodeFailed
    | NodeStopped
)
