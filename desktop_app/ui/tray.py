"""The tray icon: its look follows the model's state; its menu drives the app."""

from desktop_app.ui.icons import tray_icon
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import QAction, QMenu, QObject, QSystemTrayIcon, Signal, Slot

__all__ = ["Tray"]


class Tray(QObject):
    """The system tray icon and its menu (when the desktop has a tray).

    Signals:
        open_window_requested(): "Open StreamrP2P" or a click on the icon.
        preview_requested(): "Preview".
        settings_requested(): "Settings…".
        toggle_supporting_requested(): "Pause supporting" / "Start supporting".
        quit_requested(): "Quit".
    """

    open_window_requested = Signal()
    preview_requested = Signal()
    settings_requested = Signal()
    toggle_supporting_requested = Signal()
    quit_requested = Signal()

    def __init__(self, model: NodeModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.icon = QSystemTrayIcon(tray_icon(model.state.value), self)
        self.menu = QMenu()
        self.status_action = QAction("", self.menu)
        self.status_action.setEnabled(False)
        self.toggle_action = QAction("Pause supporting", self.menu)
        self.open_action = QAction("Open StreamrP2P", self.menu)
        self.preview_action = QAction("Preview", self.menu)
        self.settings_action = QAction("Settings…", self.menu)
        self.quit_action = QAction("Quit", self.menu)
        self.menu.addAction(self.status_action)
        self.menu.addSeparator()
        for action in (self.toggle_action, self.open_action, self.preview_action):
            self.menu.addAction(action)
        self.menu.addAction(self.settings_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self._connect_signals()
        self.on_changed()

    def _connect_signals(self) -> None:
        self.model.changed.connect(self.on_changed)
        self.icon.activated.connect(self.on_activated)
        self.toggle_action.triggered.connect(self.toggle_supporting_requested)
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
        self.icon.showMessage(title, text, kind, 10_000)

    @Slot()
    def on_changed(self) -> None:
        model = self.model
        self.icon.setIcon(tray_icon(model.state.value))
        self.icon.setToolTip(model.tooltip())
        self.status_action.setText(model.status_line())
        supporting = model.started and not model.paused
        self.toggle_action.setText("Pause supporting" if supporting else "Start supporting")
        self.toggle_action.setEnabled(model.node_state != "banned")

    @Slot(QSystemTrayIcon.ActivationReason)
    def on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_window_requested.emit()
