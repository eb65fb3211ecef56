"""The tray app put together: model, tray, window, wizard, notifications, single instance."""

import logging
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.core.events import NodeFailed, NodeStopped
from desktop_app.core.ports import find_free_port
from desktop_app.ui import autostart
from desktop_app.ui.controller import NodeController, NodeLike
from desktop_app.ui.headline import Action
from desktop_app.ui.history import History
from desktop_app.ui.icons import app_icon
from desktop_app.ui.model import NodeModel
from desktop_app.ui.notifications import Notifier
from desktop_app.ui.qt import QMessageBox, QObject, QTimer, Signal, Slot
from desktop_app.ui.settings import TraySettings
from desktop_app.ui.single_instance import ACTIVATE, PREVIEW, QUIT
from desktop_app.ui.theme import apply_theme_once
from desktop_app.ui.tray import Tray
from streamr_protocol.invite import InviteLinkError, parse_invite_link

if TYPE_CHECKING:  # loaded when first shown: the idle tray holds neither (issue 17)
    from desktop_app.ui.window import MainWindow
    from desktop_app.ui.wizard import JoinBackend, Joined, JoinWizard

__all__ = ["TrayApp"]

logger = logging.getLogger(__name__)


class TrayApp(QObject):
    """Owns every piece of the UI and the node; quitting stops the relay before the app ends.

    Signals:
        node_started(): the node was created and asked to start.
        finished(): the node stopped after Quit; the Qt application may end.
    """

    node_started = Signal()
    finished = Signal()

    def __init__(
        self,
        node_factory: Callable[[TraySettings], NodeLike],
        join_backend: "JoinBackend",
        settings: TraySettings,
        settings_folder: Path | None,
        history: History,
        joined: bool,
        forget_identity: Callable[[], None] = lambda: None,
        has_tray: bool | None = None,
        preview_backends: tuple[str, ...] | None = None,
        current_host: Callable[[], str | None] = lambda: None,
        reserved_ports: Collection[int] = (),
        version: str = "",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.current_host = current_host
        self.reserved_ports = set(reserved_ports)
        self.version = version
        self.switch_prompt: QMessageBox | None = None
        self._pending_invite = ""
        self._restarting = False
        self.node_factory = node_factory
        self.join_backend = join_backend
        self.settings = settings
        self.settings_folder = settings_folder
        self.joined = joined
        self.forget_identity = forget_identity
        self.has_tray = Tray.available() if has_tray is None else has_tray
        self.model = NodeModel(history, self)
        self.tray = Tray(self.model, self) if self.has_tray else None
        self.preview_backends = preview_backends
        self._window: MainWindow | None = None  # built when first needed: less memory idle
        self.notifier = Notifier(self.model, self.tray, lambda: self.settings.notifications, self)
        self.controller: NodeController | None = None
        self.wizard: JoinWizard | None = None
        self._quitting = False
        self._leaving = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        if self.tray is not None:
            self.tray.open_window_requested.connect(self.on_open_window_requested)
            self.tray.preview_requested.connect(self.on_preview_requested)
            self.tray.settings_requested.connect(self.on_settings_requested)
            self.tray.quit_requested.connect(self.on_quit_requested)
            self.tray.pause_requested.connect(self.on_pause_requested)
            self.tray.toggle_supporting_requested.connect(self.on_toggle_requested)

    @property
    def window(self) -> "MainWindow":
        """The main window, built on first use."""
        if self._window is None:
            from desktop_app.ui.window import MainWindow

            apply_theme_once()
            window = MainWindow(
                self.model, self.settings, self.has_tray, self.preview_backends, self.version
            )
            window.settings_tab.reserved_ports = self.reserved_ports
            window.close_requested.connect(self.on_quit_requested)
            window.headline.action_requested.connect(self.on_action_requested)
            window.settings_tab.settings_saved.connect(self.on_settings_saved)
            window.settings_tab.leave_requested.connect(self.on_leave_requested)
            window.streams_tab.unsupported_changed.connect(self.on_unsupported_changed)
            self._window = window
        return self._window

    def _save_settings(self, settings: TraySettings) -> None:
        self.settings = settings
        settings.save(self.settings_folder)

    def start(self, invite_text: str = "") -> None:
        """Show the wizard when not joined yet (or a link came in), else start relaying."""
        if self.tray is not None:
            self.tray.show()
            logger.info("tray icon shown")
        if not self.joined or invite_text:
            self.show_wizard(invite_text)
            return
        if self.tray is None:
            self.window.bring_to_front()
        QTimer.singleShot(0, self._start_node)  # let the icon paint before the core loads

    def show_wizard(self, invite_text: str = "") -> "JoinWizard":
        """Open (or bring back) the first-run wizard."""
        if self.wizard is None:
            from desktop_app.ui.wizard import JoinWizard

            apply_theme_once()
            self.wizard = JoinWizard(
                self.join_backend,
                relay_port=self.settings.relay_port,
                reserved_ports=self.reserved_ports,
                display_name=self.settings.display_name,
                payout_handle=self.settings.payout_handle,
            )
            self.wizard.joined.connect(self.on_wizard_joined)
            self.wizard.finished.connect(self.on_wizard_finished)
        self.wizard.show()
        self.wizard.raise_()
        if invite_text:
            self.wizard.set_invite_text(invite_text)
        return self.wizard

    def _start_node(self) -> None:
        node = self.node_factory(self.settings)
        self.controller = NodeController(node, self.model, self.settings, self._save_settings, self)
        self.controller.stopped.connect(self.on_controller_stopped)
        self.controller.error.connect(self.on_controller_error)
        self.controller.settings_applied.connect(self.on_settings_applied)
        self.controller.left_failed.connect(self.on_left_failed)
        self.controller.start()
        self.node_started.emit()

    # --- slots ---------------------------------------------------------------------------------

    @Slot(object)
    def on_wizard_joined(self, joined: "Joined") -> None:
        self.joined = True
        self._save_settings(
            self.settings.model_copy(
                update={
                    "display_name": joined.display_name,
                    "payout_handle": joined.payout_handle,
                    "relay_port": joined.relay_port,
                }
            )
        )
        if self._window is not None:
            self._window.settings_tab.load(self.settings)
        if self.tray is None:  # nothing else would show that the app runs
            self.window.show_tab("Overview")
        if self.controller is None:
            self._start_node()

    @Slot(object)
    def on_unsupported_changed(self, names: list[str]) -> None:
        if self.controller is not None:
            self.controller.on_unsupported_changed(names)

    @Slot()
    def on_check_reachability_requested(self) -> None:
        if self.controller is not None:
            self.controller.check_reachability()

    @Slot(str)
    def on_settings_applied(self, message: str) -> None:
        if self._window is not None:
            self._window.settings_tab.show_message(message)

    @Slot(str)
    def on_left_failed(self, message: str) -> None:
        self._leaving = False
        self._pending_invite = ""
        self.window.settings_tab.show_message(message)

    @Slot(int)
    def on_wizard_finished(self, result: int) -> None:
        if not self.joined and self.tray is None:
            self.on_quit_requested()  # nothing to run without a tray or an identity

    @Slot(str)
    def on_instance_message(self, message: str) -> None:
        """A second launch: bring the window up, or take the link it was opened with.

        Besides a link, the local socket takes the commands "activate", "preview" and "quit".
        """
        if message == PREVIEW:
            self.on_preview_requested()
        elif message == QUIT:
            self.on_quit_requested()
        elif message and message != ACTIVATE and self.joined:
            self.ask_about_invite(message)
        elif message and message != ACTIVATE:
            self.show_wizard(message)
        elif self.joined:
            self.window.bring_to_front()
        else:
            self.show_wizard()

    @Slot()
    def on_open_window_requested(self) -> None:
        if self.joined:
            self.window.show_tab("Overview")
        else:
            self.show_wizard()

    @Slot()
    def on_preview_requested(self) -> None:
        self.window.show_tab("Preview")
        self.window.preview_tab.start()

    @Slot()
    def on_settings_requested(self) -> None:
        self.window.show_tab("Settings")

    @Slot(object)
    def on_settings_saved(self, new: TraySettings) -> None:
        try:
            if new.start_at_login and not autostart.is_enabled():
                autostart.enable()
            elif not new.start_at_login and autostart.is_enabled():
                autostart.disable()
        except autostart.AutostartError as exc:
            self.window.settings_tab.show_message(str(exc))
            new = new.model_copy(update={"start_at_login": autostart.is_enabled()})
        if self.controller is not None:
            self.controller.on_settings_saved(new)
        else:
            self._save_settings(new)

    def ask_about_invite(self, text: str) -> QMessageBox:
        """A new invite while joined: never join twice silently; say what it means, and offer
        to switch when it is another host's."""
        try:
            invite = parse_invite_link(text)
        except InviteLinkError as exc:
            return self._prompt("That is not an invite link", str(exc).capitalize() + ".", False)
        current = (self.current_host() or "").rstrip("/")
        if current and invite.coordinator_url.rstrip("/") == current:
            return self._prompt(
                "You already help this host",
                "Every stream of this host comes to you by itself: there is nothing to add. "
                "Choose which ones you help with in the Streams tab.",
                False,
            )
        self._pending_invite = text
        return self._prompt(
            "Switch to another host?",
            f"This invite is from another host ({invite.coordinator_url}). You can help one "
            "host at a time: switching stops helping your current host.",
            True,
        )

    def _prompt(self, title: str, text: str, offer_switch: bool) -> QMessageBox:
        if self.switch_prompt is not None:
            self.switch_prompt.deleteLater()
        apply_theme_once()
        box = QMessageBox(QMessageBox.Icon.Question, title, text)
        box.setWindowIcon(app_icon())
        if offer_switch:
            switch = box.addButton("Switch to this host", QMessageBox.ButtonRole.AcceptRole)
            box.addButton("Keep my current host", QMessageBox.ButtonRole.RejectRole)
            switch.clicked.connect(self.on_switch_confirmed)
        else:
            box.addButton(QMessageBox.StandardButton.Ok)
        self.switch_prompt = box
        box.open()
        return box

    @Slot()
    def on_switch_confirmed(self) -> None:
        if self.controller is None:
            self._left()
        else:
            self.on_leave_requested()

    @Slot(str)
    def on_pause_requested(self, choice: str) -> None:
        if self.controller is not None:
            self.controller.pause_for(choice)

    @Slot()
    def on_toggle_requested(self) -> None:
        if self.controller is not None:
            self.controller.toggle_supporting()

    @Slot(str)
    def on_action_requested(self, action: str) -> None:
        """A "fix it" button of the headline."""
        if action == Action.RESUME and self.controller is not None:
            self.controller.toggle_supporting()
        elif action == Action.PICK_PORT:
            port = find_free_port(
                self.settings.relay_port, avoid=self.reserved_ports | {self.settings.relay_port}
            )
            self._save_settings(self.settings.model_copy(update={"relay_port": port}))
            if self._window is not None:
                self._window.settings_tab.load(self.settings)
            self.restart_node()
        elif action == Action.RETRY:
            self.restart_node()
        elif action in (Action.CHECK, Action.OPEN_PORT) and self.controller is not None:
            self.controller.check_reachability(open_port=action == Action.OPEN_PORT)

    def restart_node(self) -> None:
        """Stop the node (if any) and start a new one with the current settings."""
        if self.controller is None:
            self._start_node()
            return
        self._restarting = True
        self.controller.shutdown()

    @Slot()
    def on_leave_requested(self) -> None:
        if self.controller is None or self._quitting:
            return
        self.window.settings_tab.show_message("Telling your host that you leave…")
        self._leaving = True
        self.controller.leave()

    @Slot(str)
    def on_controller_error(self, message: str) -> None:
        self.model.apply_event(NodeFailed(message))  # the headline says it, as plain text
        if self.tray is not None:
            self.tray.show_message("StreamrP2P", message, critical=True)

    @Slot()
    def on_quit_requested(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        logger.info("quitting: stopping the relay")
        if self._window is not None:
            self._window.preview_tab.stop()
        if self.controller is not None:
            self.controller.shutdown()
        else:
            self.on_controller_stopped()

    @Slot()
    def on_controller_stopped(self) -> None:
        if self._restarting and not self._quitting:
            self._restarting = False
            if self.controller is not None:
                self.controller.deleteLater()
                self.controller = None
            self._start_node()
            return
        if self._leaving:
            self._left()
            return
        if self.tray is not None:
            self.tray.hide()
        if self._window is not None:
            self._window.hide()
        try:
            self.model.history.save()
        except OSError as exc:
            logger.warning("history not saved: %s", exc)
        self.finished.emit()

    def _left(self) -> None:
        """After leaving: forget this coordinator's identity and offer to join another."""
        self._leaving = False
        if self.controller is not None:
            self.controller.deleteLater()
            self.controller = None
        self.forget_identity()
        self.joined = False
        self.model.apply_event(NodeStopped())
        if self._window is not None:
            self._window.hide()
            self._window.settings_tab.show_message("")
        invite, self._pending_invite = self._pending_invite, ""
        if self.wizard is not None:  # a finished wizard starts afresh
            self.wizard.deleteLater()
            self.wizard = None
        self.show_wizard(invite)
