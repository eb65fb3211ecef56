"""Re-emit the node core's events as Qt signals."""

import logging
from collections.abc import Callable

from desktop_app.core import events as ev
from desktop_app.ui.qt import QObject, Signal

__all__ = ["BRIDGE_SIGNALS", "NodeBridge", "Subscribe"]

logger = logging.getLogger(__name__)

BRIDGE_SIGNALS = (
    "relay_started",
    "relay_stopped",
    "stream_live_changed",
    "viewers_changed",
    "heartbeat_sent",
    "coordinator_reachability_changed",
    "node_state_changed",
    "probe_observed",
    "earnings_updated",
    "streams_listed",
    "relay_reachability_checked",
    "update_available",
    "failed",
    "stopped",
)
"""The per-event signals; an observer has a slot `on_<name>` for each."""

Subscribe = Callable[[Callable[[ev.NodeEvent], None]], Callable[[], None]]


class NodeBridge(QObject):
    """Turns each core event into the matching signal; listeners run on the GUI thread.

    Signals:
        published(object): every event, as published.
        relay_started(str, int, str): host, port, public URL.
        relay_stopped(str): the reason.
        stream_live_changed(str, bool): stream name, live now.
        viewers_changed(int, object): viewers now, per stream (dict[str, int]).
        heartbeat_sent(object): the HeartbeatSent event.
        coordinator_reachability_changed(bool, str): reachable, detail.
        node_state_changed(str): the coordinator's verdict (healthy, flagged, banned, ...).
        probe_observed(object): the ProbeObserved event.
        earnings_updated(str, int, int): currency, today and this period in minor units.
        streams_listed(object): every stream of the coordinator (tuple[CatalogStream, ...]).
        relay_reachability_checked(bool, str, str): reachable, reason, detail (a check on demand).
        update_available(str, str): version, download URL.
        failed(str, bool): message for the friend, fatal.
        stopped(): the node stopped.
    """

    published = Signal(object)
    relay_started = Signal(str, int, str)
    relay_stopped = Signal(str)
    stream_live_changed = Signal(str, bool)
    viewers_changed = Signal(int, object)
    heartbeat_sent = Signal(object)
    coordinator_reachability_changed = Signal(bool, str)
    node_state_changed = Signal(str)
    probe_observed = Signal(object)
    earnings_updated = Signal(str, int, int)
    streams_listed = Signal(object)
    relay_reachability_checked = Signal(bool, str, str)
    update_available = Signal(str, str)
    failed = Signal(str, bool)
    stopped = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self, subscribe: Subscribe) -> None:
        """Start listening to a node (`node.subscribe`); a previous node is let go."""
        self.detach()
        self._unsubscribe = subscribe(self.publish)

    def detach(self) -> None:
        """Stop listening."""
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except ValueError:  # the node already dropped us
                pass
            self._unsubscribe = None

    def publish(self, event: ev.NodeEvent) -> None:
        """Emit `event` and its specific signal (the core's listener)."""
        self.published.emit(event)
        match event:
            case ev.RelayStarted(host=host, port=port, public_url=url):
                self.relay_started.emit(host, port, url)
            case ev.RelayStopped(reason=reason):
                self.relay_stopped.emit(reason)
            case ev.StreamLiveChanged(stream=stream, live=live):
                self.stream_live_changed.emit(stream, live)
            case ev.ViewersChanged(viewers=viewers, per_stream=per_stream):
                self.viewers_changed.emit(viewers, dict(per_stream))
            case ev.HeartbeatSent():
                self.heartbeat_sent.emit(event)
            case ev.CoordinatorReachabilityChanged(reachable=reachable, detail=detail):
                self.coordinator_reachability_changed.emit(reachable, detail)
            case ev.NodeStateChanged(state=state):
                self.node_state_changed.emit(state)
            case ev.ProbeObserved():
                self.probe_observed.emit(event)
            case ev.EarningsUpdated(currency=currency, today_minor=today, period_minor=period):
                self.earnings_updated.emit(currency, today, period)
            case ev.StreamsListed(streams=streams):
                self.streams_listed.emit(streams)
            case ev.RelayReachabilityChecked(reachable=reachable, reason=reason, detail=detail):
                self.relay_reachability_checked.emit(reachable, reason, detail)
            case ev.UpdateAvailable(version=version, download_url=url):
                self.update_available.emit(version, url)
            case ev.NodeFailed(message=message, fatal=fatal):
                self.failed.emit(message, fatal)
            case ev.NodeStopped():
                self.stopped.emit()
            case _:
                logger.debug("event without a signal: %r", event)
