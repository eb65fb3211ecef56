"""The one place the UI calls the node core: async slots that await it, and a stats poll."""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from desktop_app.core.events import HeartbeatSent, NodeEvent, StreamStat
from desktop_app.core.portmap import PortMapping
from desktop_app.ui.bridge import NodeBridge
from desktop_app.ui.limits import limit_pause, month_start, pause_until
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import QObject, QTimer, Signal, Slot, asyncSlot
from desktop_app.ui.settings import SettingsError, TraySettings
from streamr_protocol.models import NodeEarningsResponse, ReachabilityResponse

__all__ = ["NodeController", "NodeLike"]

logger = logging.getLogger(__name__)
POLL_MS = 2000
EARNINGS_MS = 60_000
LIMITS_MS = 30_000


class NodeLike(Protocol):
    """What the UI needs of the node core (desktop_app.core.node.Node)."""

    def subscribe(self, listener: Callable[[NodeEvent], None]) -> Callable[[], None]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def pause(self) -> None: ...

    async def resume(self) -> None: ...

    def snapshot(self) -> Any: ...

    def set_unsupported(self, names: Iterable[str]) -> None: ...

    async def earnings_details(self) -> NodeEarningsResponse | None: ...

    async def check_reachability(self) -> ReachabilityResponse: ...

    async def open_port(self) -> PortMapping: ...

    async def update_profile(self, display_name: str, payout_handle: str) -> None: ...

    async def leave(self) -> None: ...


def now_local() -> datetime:
    """The local time, aware (pauses end and schedules run by the friend's clock)."""
    return datetime.now().astimezone()


def stream_stats(snapshot: Any) -> list[StreamStat]:
    """The per-stream counters in a node snapshot (an object or a mapping with `streams`)."""
    streams = getattr(snapshot, "streams", None)
    if streams is None and isinstance(snapshot, dict):
        streams = snapshot.get("streams")
    if isinstance(streams, dict):
        streams = streams.values()
    return [s for s in (streams or ()) if isinstance(s, StreamStat)]


class NodeController(QObject):
    """Owns the node for the UI: starts, pauses, resumes and stops it; applies settings.

    Signals:
        stopped(): the node stopped after `shutdown` (the app may quit now).
        error(str): a UI-to-core call failed; one line for the friend.
        settings_applied(str): settings saved; what happened, for the friend.
        left_failed(str): leaving did not reach the host; the app keeps running.
    """

    stopped = Signal()
    error = Signal(str)
    settings_applied = Signal(str)
    left_failed = Signal(str)

    def __init__(
        self,
        node: NodeLike,
        model: NodeModel,
        settings: TraySettings,
        save_settings: Callable[[TraySettings], object],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.node = node
        self.model = model
        self.settings = settings
        self._save_settings = save_settings
        self.bridge = NodeBridge(self)
        self.model.observe(self.bridge)
        self.bridge.attach(node.subscribe)
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.earnings_poll = QTimer(self)
        self.earnings_poll.setInterval(EARNINGS_MS)
        self.limits_timer = QTimer(self)
        self.limits_timer.setInterval(LIMITS_MS)
        self._limit_reason = ""
        self._shutting_down = False
        self.model.set_unsupported(settings.unsupported_streams)
        self.model.relay_port = settings.relay_port  # named in messages before the relay runs
        self.model.set_upload_cap(settings.upload_cap_mbit)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.poll.timeout.connect(self.on_poll_timeout)
        self.earnings_poll.timeout.connect(self.refresh_earnings)
        self.limits_timer.timeout.connect(self.on_limits_timeout)
        self.bridge.node_event.connect(self.on_first_heartbeat)

    @Slot()
    def on_poll_timeout(self) -> None:
        try:
            stats = stream_stats(self.node.snapshot())
        except Exception:  # the snapshot must never take the UI down
            logger.exception("node snapshot failed")
            return
        self.model.apply_stats(stats)

    @asyncSlot()
    async def refresh_earnings(self) -> None:
        """Fetch payout history and probes (`earnings_details`)."""
        try:
            earnings = await self.node.earnings_details()
        except Exception:
            logger.exception("earnings details failed")
            return
        if earnings is not None:
            self.model.apply_earnings(earnings)

    @Slot(object)
    def on_first_heartbeat(self, event: object) -> None:
        if isinstance(event, HeartbeatSent):
            self.bridge.node_event.disconnect(self.on_first_heartbeat)
            self.refresh_earnings()

    async def _call(self, what: str, call: Callable[[], Any]) -> bool:
        try:
            await call()
        except Exception as exc:
            logger.exception("%s failed", what)
            self.error.emit(f"Could not {what}: {exc}")
            return False
        return True

    @asyncSlot()
    async def start(self) -> None:
        """Start the node; pause it again when the friend's pause has not ended yet.

        A node that fails to start changes no setting: the next launch tries again.
        """
        if not await self._call("start the relay", self.node.start):
            return
        if self._shutting_down:  # Quit (or a restart) came while the node was starting
            return
        self.poll.start()
        self.earnings_poll.start()
        self.limits_timer.start()
        until = self.settings.paused_until
        if not self.settings.supporting and (until is None or until > now_local()):
            if await self._call("pause", self.node.pause):
                self.model.set_paused(True, until)
        else:
            self.model.set_paused(False)
            if not self.settings.supporting:
                self._remember(supporting=True, paused_until=None)
        self.on_limits_timeout()

    @asyncSlot()
    async def toggle_supporting(self) -> None:
        """Pause when helping, resume when paused; nothing while the node is not running."""
        if self.model.paused:
            await self.resume()
        elif self.model.running:
            await self.pause()

    @asyncSlot(str)
    async def pause_for(self, choice: str) -> None:
        """Pause for "hour", until "tomorrow", or "" indefinitely (menu and window)."""
        if self.model.running and not self.model.paused:
            await self.pause(pause_until(choice, now_local()))

    async def pause(self, until: datetime | None = None, why: str = "") -> None:
        """Stop helping for now (announced to the host; the node keeps its identity)."""
        if await self._call("pause", self.node.pause):
            self.model.set_paused(True, until)
            self._limit_reason = why
            self._remember(supporting=False, paused_until=until)

    async def resume(self) -> None:
        """Help again."""
        if await self._call("resume", self.node.resume):
            self.model.set_paused(False)
            self._limit_reason = ""
            self._remember(supporting=True, paused_until=None)

    @asyncSlot()
    async def on_limits_timeout(self) -> None:
        """Resume when a timed pause ended; pause or resume as the cap and the schedule say."""
        if self._shutting_down or not self.model.running:
            return
        now = now_local()
        month = self.model.history.bytes_served_since(month_start(now.date()))
        limit = limit_pause(self.settings, now, month)
        if self.model.paused:
            until = self.model.paused_until
            if until is not None and until <= now and limit is None:
                await self.resume()
        elif limit is not None:
            await self.pause(limit[1], limit[0])

    @asyncSlot()
    async def leave(self) -> None:
        """Tell the host this app leaves, then stop (`stopped`); if the host cannot be told,
        say so and keep running."""
        try:
            await self.node.leave()
        except Exception as exc:
            logger.info("leaving failed: %s", exc)
            self.left_failed.emit(
                "Your host could not be told that you leave: is it on? Try again later."
            )
            return
        await self.shutdown()

    @asyncSlot()
    async def shutdown(self) -> None:
        """Stop the node cleanly, save the history, then emit `stopped`."""
        self._shutting_down = True  # a start still awaiting the node starts no timers after this
        self.poll.stop()
        self.earnings_poll.stop()
        self.limits_timer.stop()
        await self._call("stop the relay", self.node.stop)
        self.bridge.detach()
        try:
            self.model.history.save()
        except OSError as exc:
            logger.warning("history not saved: %s", exc)
        self.stopped.emit()

    @Slot(object)
    def on_unsupported_changed(self, names: Iterable[str]) -> None:
        names = sorted(set(names))
        self.model.set_unsupported(names)
        self._remember(unsupported_streams=names)
        self.node.set_unsupported(names)

    @asyncSlot(bool)
    async def check_reachability(self, open_port: bool = False) -> None:
        """Ask the host to fetch the relay now (after asking the router to open the port, with
        `open_port`); the answer reaches the model as an event."""
        try:
            if open_port:
                await self.node.open_port()
            await self.node.check_reachability()
        except Exception as exc:
            logger.info("reachability check failed: %s", exc)
            self.model.set_reachability_error(str(exc).splitlines()[0] if str(exc) else repr(exc))

    @Slot(object)
    @asyncSlot(object)
    async def on_settings_saved(self, new: TraySettings) -> None:
        """Save; tell the host a new name or payout handle; apply the limits now."""
        before = self.settings
        names = (new.display_name, new.payout_handle)
        if names != (before.display_name, before.payout_handle):
            try:
                await self.node.update_profile(*names)
            except Exception as exc:
                logger.info("profile not updated: %s", exc)
                self.settings_applied.emit(
                    "Not saved: your host could not be told your new name or payout handle. "
                    "Try again when the app is connected."
                )
                return
        self.settings = new
        try:
            self._save_settings(new)
        except SettingsError as exc:
            self.error.emit(str(exc))
            return
        self.model.set_upload_cap(new.upload_cap_mbit)
        note = "Saved."
        if names != (before.display_name, before.payout_handle):
            note += " Your host now sees the new name and payout handle."
        if new.relay_port != before.relay_port:
            note += " The new port is used from the next start of the app."
        self.settings_applied.emit(note)
        self.on_limits_timeout()

    def _remember(self, **changes: Any) -> None:
        self.settings = self.settings.model_copy(update=changes)
        try:
            self._save_settings(self.settings)
        except SettingsError as exc:
            self.error.emit(str(exc))
