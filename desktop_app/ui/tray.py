"""The tray icon: its look follows the model's state; its menu drives the app."""

from desktop_app.ui.formatting import format_money
from desktop_app.ui.icons import tray_icon
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import QAction, QMenu, QObject, QSystemTrayIcon, Signal, Slot
from desktop_app.ui.theme import apply_theme_once

__all__ = ["PAUSE_CHOICES", "Tray"]

PAUSE_CHOICES = (("For 1 hour", "hour"), ("Until tomorrow", "tomorrow"), ("Until I resume", ""))


class Tray(QObject):
    """The system tray icon and its menu (when the desktop has a tray).

    Signals:
        open_window_requested(): "Open StreamrP2P" or a click on the icon.
        preview_requested(): "Preview".
        settings_requested(): "Settings…".
        pause_requested(str): a pause length: "hour", "tomorrow" or "" (until resumed).
        toggle_supporting_requested(): "Resume".
        quit_requested(): "Quit".
    """

    open_window_requested = Signal()
    preview_requested = Signal()
    settings_requested = Signal()
    pause_requested = Signal(str)
    toggle_supporting_requested = Signal()
    quit_requested = Signal()

    def __init__(self, model: NodeModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.icon = QSystemTrayIcon(tray_icon(model.state.value), self)
        self.menu = QMenu()
        self.status_action = QAction("", self.menu)
        self.status_action.setEnabled(False)
        self.earnings_action = QAction("", self.menu)
        self.earnings_action.setEnabled(False)
        self.pause_menu = QMenu("Pause helping", self.menu)
        self.pause_actions: list[QAction] = []
        for text, choice in PAUSE_CHOICES:
            action = QAction(text, self.pause_menu)
            action.setData(choice)
            self.pause_menu.addAction(action)
            self.pause_actions.append(action)
        self.toggle_action = QAction("Resume helping", self.menu)
        self.open_action = QAction("Open StreamrP2P", self.menu)
        self.preview_action = QAction("Preview", self.menu)
        self.settings_action = QAction("Settings…", self.menu)
        self.quit_action = QAction("Quit", self.menu)
        self.menu.addAction(self.status_action)
        self.menu.addAction(self.earnings_action)
        self.menu.addSeparator()
        self.menu.addMenu(self.pause_menu)
        for action in (self.toggle_action, self.open_action, self.preview_action):
            self.menu.addAction(action)
        self.menu.addAction(self.settings_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.menu.aboutToShow.connect(apply_theme_once)
        self._connect_signals()
        self.on_changed()

    def _connect_signals(self) -> None:
        self.model.changed.connect(self.on_changed)
        self.icon.activated.connect(self.on_activated)
        self.toggle_action.triggered.connect(self.toggle_supporting_requested)
        self.pause_menu.triggered.connect(self.on_pause_triggered)
        self.open_action.triggered.connect(self.open_window_requested)
        self.preview_action.triggered.connect(self.preview_requested)
        self.settings_action.triggered.connect(self.settings_requested)
        self.quit_action.triggered.connect(self.quit_requested)

    @staticmethod
    def available() -> bool:
        """Whether the desktop shows tray icons (false on some Linux desktops, offscreen)."""
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        """Put the icon in the tray."""
        self.icon.show()

    def hide(self) -> None:
        """Take the icon out of the tray."""
        self.icon.hide()

    def show_message(self, title: str, text: str, critical: bool = False) -> None:
        """Show a desktop notification from the tray icon."""
        kind = (
            QSystemTrayIcon.MessageIcon.Critical
            if critical
            else QSystemTrayIcon.MessageIcon.Information
        )
        apply_theme_once()  # without a notification service Qt shows a balloon widget
        self.icon.showMessage(title, text, kind, 10_000)

    @Slot()
    def on_changed(self) -> None:
        model = self.model
        self.icon.setIcon(tray_icon(model.state.value))
        self.icon.setToolTip(model.tooltip())
        self.status_action.setText(model.status_line())
        money = model.money()
        self.earnings_action.setText(
            f"Today {format_money(money.today, money.currency)} · "
            f"this period {format_money(money.period, money.currency)}"
        )
        usable = model.node_state != "banned"
        # pausing needs a running node; resuming a paused one (never "start" a failed one)
        self.pause_menu.menuAction().setVisible(not model.paused)
        self.pause_menu.setEnabled(usable and model.running and not model.paused)
        self.toggle_action.setVisible(model.paused)
        self.toggle_action.setEnabled(usable)

    @Slot(QAction)
    def on_pause_triggered(self, action: QAction) -> None:
        self.pause_requested.emit(str(action.data() or ""))

    @Slot(QSystemTrayIcon.ActivationReason)
    def on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_window_requested.emit()
