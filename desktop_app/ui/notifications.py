"""Desktop notifications, only for what a friend must know or act on."""

from collections.abc import Callable

from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import QObject, Signal, Slot
from desktop_app.ui.tray import Tray

__all__ = ["Notifier"]


class Notifier(QObject):
    """Shows a tray message when a supported stream goes live, the relay becomes unreachable,
    probes keep failing (with the reason) or a payout is marked paid.

    Signals:
        notified(str, str): title and text of a notification just shown (or due, without tray).
    """

    notified = Signal(str, str)

    def __init__(
        self,
        model: NodeModel,
        tray: Tray | None,
        enabled: Callable[[], bool] = lambda: True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.tray = tray
        self.enabled = enabled
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.model.stream_went_live.connect(self.on_stream_went_live)
        self.model.relay_unreachable.connect(self.on_relay_unreachable)
        self.model.probes_failing.connect(self.on_probes_failing)
        self.model.payout_paid.connect(self.on_payout_paid)

    def _show(self, title: str, text: str, critical: bool = False) -> None:
        if not self.enabled():
            return
        if self.tray is not None:
            self.tray.show_message(title, text, critical)
        self.notified.emit(title, text)

    @Slot(str)
    def on_stream_went_live(self, stream: str) -> None:
        self._show(f"{stream} is live", f"You are helping stream {stream} to its viewers now.")

    @Slot(str)
    def on_relay_unreachable(self, reason: str) -> None:
        self._show(
            "Viewers can't reach you",
            f"The host's check found that {reason}. Viewers are sent elsewhere and you earn "
            "nothing until they can reach you: open StreamrP2P and press Fix it.",
            critical=True,
        )

    @Slot(str)
    def on_probes_failing(self, reason: str) -> None:
        self._show(
            "Your host's checks fail",
            f"The latest checks found that {reason}. Open StreamrP2P to see what to do.",
            critical=True,
        )

    @Slot(str)
    def on_payout_paid(self, amount: str) -> None:
        self._show("Payout sent", f"The host marked your payout of {amount} as paid.")
