"""The view-model the tray and the window observe: the node's state as the friend sees it."""

import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from desktop_app.core.events import CatalogStream, HeartbeatSent, ProbeObserved, StreamStat
from desktop_app.ui.bridge import BRIDGE_SIGNALS, NodeBridge
from desktop_app.ui.formatting import format_money
from desktop_app.ui.history import History
from desktop_app.ui.portmap import reachability_message
from desktop_app.ui.qt import QObject, Signal, Slot
from streamr_protocol.models import NodeEarningsResponse, PayoutSummary

__all__ = ["NodeModel", "StreamView", "TrayState"]

WARNING_STATES = frozenset({"flagged", "silent", "unreachable"})
UNREACHABLE_REASONS = ("unreachable", "timeout", "connect", "refused")
FAILING_STREAK = 2


class TrayState(StrEnum):
    """What the tray icon shows."""

    IDLE = "idle"
    RELAYING = "relaying"
    WARNING = "warning"
    ERROR = "error"


@dataclass
class StreamView:
    """One stream as the window lists it."""

    name: str
    live: bool = False
    supported: bool = True
    assigned: bool = False
    viewers: int = 0
    bytes_served: int = 0
    viewers_served_total: int = 0
    segments_cached: int = 0


class NodeModel(QObject):
    """Holds what the bridge reported; widgets re-read it on `changed`.

    Signals:
        changed(): anything changed.
        state_changed(str): the tray state (a TrayState value) changed.
        stream_went_live(str): a supported stream went live.
        relay_unreachable(str): probes (or the coordinator) say the relay cannot be reached.
        probes_failing(str): probes keep failing; the reason.
        payout_paid(str): a payout was marked paid; the amount, formatted.
    """

    changed = Signal()
    state_changed = Signal(str)
    stream_went_live = Signal(str)
    relay_unreachable = Signal(str)
    probes_failing = Signal(str)
    payout_paid = Signal(str)

    def __init__(self, history: History | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = history or History()
        self.started = False
        self.running = False
        self.paused = False
        self.relay_url = ""
        self.relay_port = 0
        self.viewers = 0
        self.streams: dict[str, StreamView] = {}
        self.unsupported: set[str] = set()
        self._listed: set[str] = set()
        self.coordinator_reachable: bool | None = None
        self.coordinator_detail = ""
        self.node_state = "new"
        self.probes: deque[ProbeObserved] = deque(maxlen=50)
        self.probes_passed = 0
        self.probes_failed = 0
        self._failing_streak = 0
        self.relay_reachable: bool | None = None
        self.reachability_text = ""
        self.currency = "USD"
        self.today_minor = 0
        self.period_minor = 0
        self.period_from: datetime | None = None
        self.payouts: list[PayoutSummary] = []
        self._payouts_seen: dict[str, bool] | None = None
        self.last_heartbeat_at: datetime | None = None
        self.failure = ""
        self.failure_fatal = False
        self.update: tuple[str, str] | None = None
        self.upload_cap_mbit = 0.0
        self.upload_bps = 0.0
        self._rate_mark: tuple[float, int] | None = None
        self._state = TrayState.IDLE

    # --- derived ------------------------------------------------------------------------------

    @property
    def state(self) -> TrayState:
        """The tray state from everything known."""
        if self.node_state == "banned" or self.failure_fatal:
            return TrayState.ERROR
        if self.failure and not self.running:
            return TrayState.ERROR
        if not self.running or self.paused:
            return TrayState.IDLE
        if (
            self.coordinator_reachable is False
            or self.node_state in WARNING_STATES
            or self._failing_streak >= FAILING_STREAK
            or self.relay_reachable is False
            or self.failure
        ):
            return TrayState.WARNING
        return TrayState.RELAYING

    def relayed(self) -> list[str]:
        """Names of the supported streams being relayed now (live first)."""
        rows = [s for s in self.streams.values() if s.assigned and s.supported]
        return [s.name for s in sorted(rows, key=lambda s: (not s.live, s.name))]

    def status_line(self) -> str:
        """One line saying what the node does, for the menu and the window."""
        if self.node_state == "banned":
            return "Banned by the coordinator: this node no longer earns"
        if self.failure and (self.failure_fatal or not self.running):
            return self.failure
        if not self.started:
            return "Not supporting yet"
        if self.paused:
            return "Paused: not supporting"
        if not self.running:
            return "Starting the relay…"
        if self.coordinator_reachable is False:
            return "Coordinator unreachable: still relaying"
        if self.node_state in WARNING_STATES:
            return f"Coordinator marks this node {self.node_state}"
        if self.relay_reachable is False:
            return "Relay not reachable from outside: forward the relay port (Settings)"
        if self._failing_streak >= FAILING_STREAK and self.probes:
            return f"Probes failing: {self.probes[-1].reason}"
        if self.failure:
            return self.failure
        live = [s for s in self.relayed() if self.streams[s].live]
        if not live:
            return "Relaying: waiting for a stream to go live"
        plural = "viewer" if self.viewers == 1 else "viewers"
        return f"Relaying {', '.join(live)} to {self.viewers} {plural}"

    def tooltip(self) -> str:
        """The tray tooltip: what is relayed, viewers now, earned today and this period."""
        relayed = ", ".join(self.relayed()) or "nothing"
        return (
            f"StreamrP2P: {self.status_line()}\n"
            f"Relaying: {relayed}\n"
            f"Viewers now: {self.viewers}\n"
            f"Earned today {format_money(self.today_minor, self.currency)}, "
            f"this period {format_money(self.period_minor, self.currency)}"
        )

    def observe(self, bridge: NodeBridge) -> None:
        """Connect each of the bridge's event signals to the slot of the same name."""
        for name in BRIDGE_SIGNALS:
            getattr(bridge, name).connect(getattr(self, f"on_{name}"))

    def _notify(self) -> None:
        state = self.state
        if state != self._state:
            self._state = state
            self.state_changed.emit(state.value)
        self.changed.emit()

    # --- slots for the bridge's signals -------------------------------------------------------

    @Slot(bool, str, str)
    def on_relay_reachability_checked(self, reachable: bool, reason: str, detail: str) -> None:
        self.relay_reachable = reachable
        self.reachability_text = reachability_message(reachable, reason, detail, self.relay_port)
        self._notify()

    def set_reachability_error(self, message: str) -> None:
        """The check itself failed (coordinator unreachable, ...): say so, keep the last verdict."""
        self.reachability_text = f"Could not check: {message}"
        self._notify()

    @Slot(object)
    def on_streams_listed(self, streams: tuple[CatalogStream, ...]) -> None:
        self.apply_catalog(streams)

    @Slot(str, int, str)
    def on_relay_started(self, host: str, port: int, public_url: str) -> None:
        self.started = self.running = True
        self.relay_port = port
        self.relay_url = public_url
        self.failure, self.failure_fatal = "", False
        self._notify()

    @Slot(str)
    def on_relay_stopped(self, reason: str) -> None:
        self.running = False
        self.viewers = 0
        self._notify()

    @Slot(str, bool)
    def on_stream_live_changed(self, stream: str, live: bool) -> None:
        view = self._stream(stream)
        view.assigned = True
        was_live, view.live = view.live, live
        if live and not was_live and view.supported:
            self.stream_went_live.emit(stream)
        self._notify()

    @Slot(int, object)
    def on_viewers_changed(self, viewers: int, per_stream: dict[str, int]) -> None:
        self.viewers = viewers
        for name, count in per_stream.items():
            self._stream(name).viewers = count
        self._notify()

    @Slot(object)
    def on_heartbeat_sent(self, event: HeartbeatSent) -> None:
        self.last_heartbeat_at = event.at
        self.coordinator_reachable = True
        if event.state:
            self.node_state = event.state
        for name in event.streams:
            self._stream(name).assigned = True
        self._notify()

    @Slot(bool, str)
    def on_coordinator_reachability_changed(self, reachable: bool, detail: str) -> None:
        self.coordinator_reachable = reachable
        self.coordinator_detail = detail
        self._notify()

    @Slot(str)
    def on_node_state_changed(self, state: str) -> None:
        before, self.node_state = self.node_state, state
        if state == "unreachable" and before != "unreachable":
            self.relay_unreachable.emit("the coordinator cannot reach your relay port")
        self._notify()

    @Slot(object)
    def on_probe_observed(self, probe: ProbeObserved) -> None:
        self.probes.append(probe)
        if probe.ok:
            self.probes_passed += 1
            self._failing_streak = 0
            self.relay_reachable = True
        else:
            self.probes_failed += 1
            self._failing_streak += 1
            unreachable = any(word in probe.reason.lower() for word in UNREACHABLE_REASONS)
            if unreachable and self.relay_reachable is not False:
                self.relay_reachable = False
                self.relay_unreachable.emit(probe.detail or probe.reason)
            if self._failing_streak == FAILING_STREAK:
                self.probes_failing.emit(probe.reason)
        self._notify()

    @Slot(str, int, int)
    def on_earnings_updated(self, currency: str, today_minor: int, period_minor: int) -> None:
        self.currency, self.today_minor, self.period_minor = currency, today_minor, period_minor
        self.history.record_earnings(today_minor, currency, date.today())
        self._notify()

    @Slot(str, str)
    def on_update_available(self, version: str, url: str) -> None:
        self.update = (version, url)
        self._notify()

    @Slot(str, bool)
    def on_failed(self, message: str, fatal: bool) -> None:
        self.failure, self.failure_fatal = message, fatal
        self._notify()

    @Slot()
    def on_stopped(self) -> None:
        self.running = False
        self.viewers = 0
        self._notify()

    # --- what the controller feeds in ---------------------------------------------------------

    def set_paused(self, paused: bool) -> None:
        """Record that supporting was paused or resumed."""
        self.paused = paused
        if not paused:
            self.started = True
        self._notify()

    def set_unsupported(self, names: Iterable[str]) -> None:
        """Record which streams the friend chose not to support."""
        self.unsupported = set(names)
        for view in self.streams.values():
            view.supported = view.name not in self.unsupported
        self._notify()

    def set_upload_cap(self, mbit: float) -> None:
        """Record the upload cap (0: none)."""
        self.upload_cap_mbit = mbit
        self._notify()

    def apply_stats(self, stats: Sequence[StreamStat], now: float | None = None) -> None:
        """Take the relay's per-stream counters; derive the upload rate; add to the history."""
        now = time.monotonic() if now is None else now
        total = 0
        for stat in stats:
            view = self._stream(stat.name)
            view.assigned = True
            view.live = stat.live
            view.viewers = stat.viewers
            view.bytes_served = stat.bytes_served
            view.viewers_served_total = stat.viewers_served_total
            view.segments_cached = stat.segments_cached
            total += stat.bytes_served
        if self._rate_mark is not None and now > self._rate_mark[0]:
            sent = max(0, total - self._rate_mark[1])
            self.upload_bps = sent * 8 / (now - self._rate_mark[0])
        self._rate_mark = (now, total)
        self.history.record_streams(stats, date.today())
        self._notify()

    def apply_catalog(self, streams: Iterable[CatalogStream]) -> None:
        """Take the coordinator's list of streams (live or not); drop the ones it no longer
        lists unless this node relays them."""
        listed = {item.name: item.live for item in streams}
        for name in self._listed - listed.keys():
            view = self.streams.get(name)
            if view is not None and not view.assigned:
                del self.streams[name]
        self._listed = set(listed)
        for name, live in listed.items():
            view = self._stream(name)
            if not view.assigned:  # the relay reports the live state of what it relays
                view.live = live
        self._notify()

    def apply_earnings(self, earnings: NodeEarningsResponse) -> None:
        """Take the coordinator's earnings answer: totals, payout history, recent probes."""
        self.currency = earnings.currency
        self.today_minor, self.period_minor = earnings.today_minor, earnings.period_minor
        self.period_from = earnings.period_from
        self.payouts = sorted(earnings.payouts, key=lambda p: p.period_to, reverse=True)
        paid_now = {p.payout_id: p.paid_at is not None for p in earnings.payouts}
        if self._payouts_seen is not None:
            for payout in earnings.payouts:
                if payout.paid_at is not None and not self._payouts_seen.get(payout.payout_id):
                    self.payout_paid.emit(format_money(payout.amount_minor, payout.currency))
        self._payouts_seen = paid_now
        self.history.record_earnings(earnings.today_minor, earnings.currency, date.today())
        self._notify()

    def _stream(self, name: str) -> StreamView:
        view = self.streams.get(name)
        if view is None:
            view = self.streams[name] = StreamView(name, supported=name not in self.unsupported)
        return view

    @staticmethod
    def now() -> datetime:
        """The current UTC time (for ages shown next to timestamps)."""
        return datetime.now(UTC)
