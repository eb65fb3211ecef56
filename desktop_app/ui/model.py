"""The view-model the tray and the window observe: the node's state as the friend sees it."""

import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from desktop_app.core import events as ev
from desktop_app.core.credit import credit_losses, credit_summary, earnings_update
from desktop_app.core.events import CatalogStream, Credit, ProbeObserved, StreamStat
from desktop_app.ui.bridge import NodeBridge
from desktop_app.ui.formatting import format_duration, format_money
from desktop_app.ui.headline import Action, Headline, TrayState
from desktop_app.ui.history import History
from desktop_app.ui.qt import QObject, Signal, Slot
from desktop_app.ui.words import check_reason, state_words
from streamr_protocol.models import NodeEarningsResponse, PayoutSummary

__all__ = ["NodeModel", "StreamView", "TrayState"]

WARNING_STATES = frozenset({"flagged", "silent", "unreachable"})
UNREACHABLE_REASONS = ("unreachable", "timeout", "connect", "refused")
FAILING_STREAK = 2
VIEWER_WINDOW = timedelta(seconds=30)  # the relay's viewer count covers the last 30 s


@dataclass
class StreamView:
    """One stream as the window lists it.

    `relay_live` is what this relay sees; `host_live` what the host's own check of the stream
    says (None: not known). The host's word wins: an ended stream is not shown as live.
    """

    name: str
    relay_live: bool = False
    host_live: bool | None = None
    supported: bool = True
    assigned: bool = False
    viewers: int = 0
    bytes_served: int = 0
    viewers_served_total: int = 0
    segments_cached: int = 0

    @property
    def live(self) -> bool:
        """Live now, as the friend should be told."""
        if self.assigned:
            return self.relay_live and self.host_live is not False
        return bool(self.host_live)


@dataclass(frozen=True)
class Money:
    """Earnings at a glance, in minor units of `currency`."""

    currency: str
    today: int
    period: int
    paid: int
    pending: int
    lifetime: int
    last_paid_at: datetime | None


class NodeModel(QObject):
    """Holds what the node reported; widgets re-read it on `changed`.

    Signals:
        changed(): anything changed.
        state_changed(str): the tray state (a TrayState value) changed.
        stream_went_live(str): a supported stream went live.
        relay_unreachable(str): checks say viewers cannot reach this computer.
        probes_failing(str): the host's checks keep failing; the reason in plain words.
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
        self.running_since: float | None = None
        self.paused = False
        self.paused_until: datetime | None = None
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
        self.credit: Credit | None = None  # None: the host does not explain its credit
        self._payouts_seen: dict[str, bool] | None = None
        self.last_heartbeat_at: datetime | None = None
        self.failure = ""
        self.failure_fatal = False
        self.failure_kind = ""
        self.update: tuple[str, str] | None = None
        self.upload_cap_mbit = 0.0
        self.upload_bps = 0.0
        self._rate_mark: tuple[float, int] | None = None
        self._state = TrayState.IDLE

    # --- derived ------------------------------------------------------------------------------

    @property
    def state(self) -> TrayState:
        """The tray state from everything known."""
        return self.headline().state

    def headline(self) -> Headline:
        """One state, one sentence and the one thing to do, in plain words."""
        error, warning, idle = TrayState.ERROR, TrayState.WARNING, TrayState.IDLE
        if self.node_state == "banned":
            return Headline(
                error, "The host removed this app", "It no longer helps or earns. Ask your host."
            )
        if self.failure and (self.failure_fatal or not self.running):
            if self.failure_kind == "port":
                return Headline(
                    error,
                    f"Another program is using port {self.relay_port}"
                    if self.relay_port
                    else "Another program is using this app's port",
                    "This app needs a port of its own to pass the stream on.",
                    Action.PICK_PORT,
                    "Use another port",
                )
            return Headline(error, "The app stopped", self.failure, Action.RETRY, "Try again")
        if self.paused:
            return Headline(
                idle, self._paused_title(), "You are not helping or earning now.",
                Action.RESUME, "Resume now",
            )  # fmt: skip
        if not self.running:
            return Headline(idle, "Starting…" if self.started else "Not helping yet")
        if self.coordinator_reachable is False:
            return Headline(
                warning,
                "Can't reach your host",
                "Viewers are still served. This fixes itself when the host's computer is back.",
            )
        if self.relay_reachable is False:
            return Headline(
                warning,
                "Viewers can't reach you",
                f"Your router does not let viewers in on port {self.relay_port}.",
                Action.OPEN_PORT,
                "Fix it",
            )
        if self.node_state in WARNING_STATES or self._failing_streak >= FAILING_STREAK:
            last = next((p for p in reversed(self.probes) if not p.ok), None)
            detail = check_reason(last.reason) if last else state_words(self.node_state)
            return Headline(
                warning,
                "The host's checks of this app fail",
                detail[:1].upper() + detail[1:] + ".",
                Action.CHECK,
                "Check again",
            )
        if self.failure:
            return Headline(warning, self.failure)
        live = [s for s in self.relayed() if self.streams[s].live]
        if not live:
            return Headline(idle, "Ready: waiting for a stream to start")
        viewers = self.viewers_now()
        plural = "viewer" if viewers == 1 else "viewers"
        return Headline(
            TrayState.RELAYING, f"You're helping stream {', '.join(live)}",
            f"{viewers} {plural} watching through you now.",
        )  # fmt: skip

    def _paused_title(self) -> str:
        if self.paused_until is None:
            return "Paused"
        local = self.paused_until.astimezone()
        if local.date() == datetime.now().astimezone().date():
            return f"Paused until {local:%H:%M}"
        return f"Paused until {local:%a %H:%M}"

    def status_line(self) -> str:
        """One line saying what the app does, for the menu and the window."""
        return self.headline().title

    def relayed(self) -> list[str]:
        """Names of the supported streams being relayed now (live first)."""
        rows = [s for s in self.streams.values() if s.assigned and s.supported]
        return [s.name for s in sorted(rows, key=lambda s: (not s.live, s.name))]

    def viewers_now(self, now: datetime | None = None) -> int:
        """Real viewers now: the relay's count without the host's checks of the last window."""
        now = now or datetime.now(UTC)
        checks = sum(1 for p in self.probes if now - p.at <= VIEWER_WINDOW)
        return max(0, self.viewers - checks)

    def money(self) -> Money:
        """Today, this period, paid, pending and lifetime, from the host's ledger."""
        paid = sum(p.amount_minor for p in self.payouts if p.paid_at is not None)
        pending = sum(p.amount_minor for p in self.payouts if p.paid_at is None)
        last = max((p.paid_at for p in self.payouts if p.paid_at is not None), default=None)
        return Money(
            self.currency,
            self.today_minor,
            self.period_minor,
            paid,
            pending,
            paid + pending + self.period_minor,
            last,
        )

    def uptime(self, now: float | None = None) -> str:
        """How long the app has been helping in this run ("" when not running)."""
        if self.running_since is None or not self.running:
            return ""
        return format_duration((now or time.monotonic()) - self.running_since)

    def credit_words(self) -> tuple[str, list[str]] | None:
        """This period's credited time online and each reason the rest was not, with how to
        fix it, in the host's plain words; None when the host does not say."""
        if self.credit is None:
            return None
        lines = [
            f"{what}. How to fix: {advice}." if advice else f"{what}."
            for what, advice in credit_losses(self.credit)
        ]
        return credit_summary(self.credit), lines

    def checks_summary(self) -> tuple[int, int]:
        """The host's recent checks of this app: (passed, total)."""
        return sum(1 for p in self.probes if p.ok), len(self.probes)

    def failed_check_reasons(self) -> list[str]:
        """Each distinct reason of a recent failed check, newest first, in plain words."""
        reasons: list[str] = []
        for probe in reversed(self.probes):
            text = check_reason(probe.reason)
            if not probe.ok and text not in reasons:
                reasons.append(text)
        return reasons

    def tooltip(self) -> str:
        """The tray tooltip: headline, viewers now, earned today and this period."""
        return (
            f"StreamrP2P: {self.status_line()}\n"
            f"Viewers now: {self.viewers_now()}\n"
            f"Earned today {format_money(self.today_minor, self.currency)} (estimate), "
            f"this period {format_money(self.period_minor, self.currency)}"
        )

    def observe(self, bridge: NodeBridge) -> None:
        """Take every event the bridge carries."""
        bridge.node_event.connect(self.apply_event)

    def _notify(self) -> None:
        state = self.state
        if state != self._state:
            self._state = state
            self.state_changed.emit(state.value)
        self.changed.emit()

    # --- the node's events --------------------------------------------------------------------

    @Slot(object)
    def apply_event(self, event: ev.NodeEvent) -> None:
        """Take one node event (the only place an event's meaning for the UI is decided)."""
        match event:
            case ev.RelayStarted(port=port, public_url=url):
                self.started = self.running = True
                self.running_since = time.monotonic()
                self.relay_port, self.relay_url = port, url
                self.failure, self.failure_fatal, self.failure_kind = "", False, ""
            case ev.RelayStopped() | ev.NodeStopped():
                self.running, self.viewers, self.running_since = False, 0, None
            case ev.StreamLiveChanged(stream=stream, live=live):
                view = self._stream(stream)
                view.assigned = True
                was_live = view.live
                view.relay_live = live
                if view.live and not was_live and view.supported:
                    self.stream_went_live.emit(stream)
            case ev.ViewersChanged(viewers=viewers, per_stream=per_stream):
                self.viewers = viewers
                for name, count in per_stream.items():
                    self._stream(name).viewers = count
            case ev.HeartbeatSent(at=at, state=state, streams=streams):
                self.last_heartbeat_at, self.coordinator_reachable = at, True
                if state:
                    self.node_state = state
                for name in streams:
                    self._stream(name).assigned = True
            case ev.CoordinatorReachabilityChanged(reachable=reachable, detail=detail):
                self.coordinator_reachable, self.coordinator_detail = reachable, detail
            case ev.NodeStateChanged(state=state):
                before, self.node_state = self.node_state, state
                if state == "unreachable" and before != "unreachable":
                    self.relay_unreachable.emit("the host cannot reach this computer")
            case ev.ProbeObserved():
                self._apply_probe(event)
            case ev.EarningsUpdated(
                currency=currency, today_minor=today, period_minor=period, credit=credit
            ):
                self.currency, self.today_minor, self.period_minor = currency, today, period
                self.credit = credit or self.credit
                self.history.record_earnings(today, currency, utc_today())
            case ev.StreamsListed(streams=streams):
                self.apply_catalog(streams, notify=False)
            case ev.RelayReachabilityChecked(reachable=reachable, reason=reason):
                self.relay_reachable = reachable
                self.reachability_text = reachability_sentence(reachable, reason, self.relay_port)
            case ev.UpdateAvailable(version=version, download_url=url):
                self.update = (version, url)
            case ev.NodeFailed(message=message, fatal=fatal, kind=kind):
                # The core's own reason for stopping (a taken port, a ban) stays until the relay
                # runs again: the app's "Could not start the relay" echo of it, queued after it,
                # would hide the one-click fix ("Use another port").
                if fatal or not self.failure_fatal:
                    self.failure, self.failure_fatal, self.failure_kind = message, fatal, kind
        self._notify()

    def _apply_probe(self, probe: ProbeObserved) -> None:
        self.probes.append(probe)
        self.history.record_check(probe.at.date())
        if probe.ok:
            self.probes_passed += 1
            self._failing_streak = 0
            self.relay_reachable = True
            return
        self.probes_failed += 1
        self._failing_streak += 1
        unreachable = any(word in probe.reason.lower() for word in UNREACHABLE_REASONS)
        if unreachable and self.relay_reachable is not False:
            self.relay_reachable = False
            self.relay_unreachable.emit(check_reason(probe.reason))
        if self._failing_streak == FAILING_STREAK:
            self.probes_failing.emit(check_reason(probe.reason))

    # --- what the controller feeds in ---------------------------------------------------------

    def set_reachability_error(self, message: str) -> None:
        """The check itself failed (host unreachable, ...): say so, keep the last verdict."""
        self.reachability_text = f"Could not check: {message}"
        self._notify()

    def set_paused(self, paused: bool, until: datetime | None = None) -> None:
        """Record that helping was paused (until a time, or indefinitely) or resumed."""
        self.paused = paused
        self.paused_until = until if paused else None
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
            view.relay_live = stat.live
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

    def apply_catalog(self, streams: Iterable[CatalogStream], notify: bool = True) -> None:
        """Take the host's list of streams with its own word on which are live; drop the ones
        it no longer lists unless this node relays them."""
        listed = {item.name: item.live for item in streams}
        for name in self._listed - listed.keys():
            view = self.streams.get(name)
            if view is not None and not view.assigned:
                del self.streams[name]
        self._listed = set(listed)
        for name, live in listed.items():
            self._stream(name).host_live = live
        if notify:
            self._notify()

    def apply_earnings(self, earnings: NodeEarningsResponse) -> None:
        """Take the host's earnings answer: totals, payout history, recent checks."""
        self.currency = earnings.currency
        self.today_minor, self.period_minor = earnings.today_minor, earnings.period_minor
        self.period_from = earnings.period_from
        self.credit = earnings_update(earnings).credit or self.credit
        self.payouts = sorted(earnings.payouts, key=lambda p: p.period_to, reverse=True)
        paid_now = {p.payout_id: p.paid_at is not None for p in earnings.payouts}
        if self._payouts_seen is not None:
            for payout in earnings.payouts:
                if payout.paid_at is not None and not self._payouts_seen.get(payout.payout_id):
                    self.payout_paid.emit(format_money(payout.amount_minor, payout.currency))
        self._payouts_seen = paid_now
        self.history.record_earnings(earnings.today_minor, earnings.currency, utc_today())
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


def utc_today() -> date:
    """The host's day: its ledger's "today" runs from UTC midnight."""
    return datetime.now(UTC).date()


def reachability_sentence(reachable: bool, reason: str, port: int) -> str:
    """One sentence about the host's check from the internet."""
    if reachable:
        return f"Viewers can reach this computer on port {port}."
    if reason == "private_address":
        return "The host only sees a home-network address for you, so viewers cannot reach you."
    return (
        f"Viewers cannot reach this computer on port {port}: {check_reason(reason)}. "
        "Press Fix it, or forward the port on your router."
    )
