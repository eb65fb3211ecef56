"""The main window: the headline with its "fix it" button, then one tab per topic."""

import html
from pathlib import Path

from desktop_app.core.links import safe_download_url
from desktop_app.ui.icons import app_icon
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import (
    QCloseEvent,
    QLabel,
    QMainWindow,
    QShowEvent,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
    Slot,
)
from desktop_app.ui.settings import TraySettings, log_dir
from desktop_app.ui.window.about_tab import AboutTab
from desktop_app.ui.window.headline_card import HeadlineCard
from desktop_app.ui.window.overview_tab import OverviewTab
from desktop_app.ui.window.preview_tab import PreviewTab
from desktop_app.ui.window.settings_tab import SettingsTab
from desktop_app.ui.window.streams_tab import StreamsTab

__all__ = ["NO_TRAY_NOTE", "MainWindow"]

NO_TRAY_NOTE = (
    "Your desktop shows no tray icons, so StreamrP2P lives in this window. Minimise it to keep "
    "helping; closing it stops the app. To bring it back, start StreamrP2P again from your "
    "applications menu."
)


class MainWindow(QMainWindow):
    """Headline, then Overview, Streams, Preview, Settings and About.

    Signals:
        close_requested(): the friend closed the window while there is no tray (quit the app).
    """

    close_requested = Signal()

    def __init__(
        self,
        model: NodeModel,
        settings: TraySettings,
        has_tray: bool = True,
        preview_backends: tuple[str, ...] | None = None,
        version: str = "",
        logs: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.has_tray = has_tray
        self.setWindowTitle("StreamrP2P")
        self.setWindowIcon(app_icon())
        self.headline = HeadlineCard(model)
        self.no_tray = QLabel(NO_TRAY_NOTE)
        self.no_tray.setObjectName("note")
        self.no_tray.setWordWrap(True)
        self.no_tray.setVisible(not has_tray)
        self.tabs = QTabWidget()
        self.overview_tab = OverviewTab(model)
        self.streams_tab = StreamsTab(model)
        self.preview_tab = (
            PreviewTab(model, preview_backends)
            if preview_backends is not None
            else PreviewTab(model)
        )
        self.settings_tab = SettingsTab(settings)
        self.about_tab = AboutTab(version or "", logs or log_dir())
        self.tabs.addTab(self.overview_tab, "Overview")
        self.tabs.addTab(self.streams_tab, "Streams")
        self.tabs.addTab(self.preview_tab, "Preview")
        self.tabs.addTab(self.settings_tab, "Settings")
        self.tabs.addTab(self.about_tab, "About")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.addWidget(self.no_tray)
        layout.addWidget(self.headline)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.resize(720, 700)
        self._stale = True
        self._connect_signals()

    @property
    def banner(self) -> QLabel:
        """The headline's title (what the window says first)."""
        return self.headline.headline

    def _connect_signals(self) -> None:
        self.model.changed.connect(self.on_model_changed)
        self.tabs.currentChanged.connect(self.on_tab_changed)

    def show_tab(self, name: str) -> None:
        """Bring the window to the front on the tab called `name` ("Overview", "Preview", …)."""
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index) == name:
                self.tabs.setCurrentIndex(index)
        self.bring_to_front()

    def bring_to_front(self) -> None:
        """Show, un-minimise and raise the window."""
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def showEvent(self, event: QShowEvent) -> None:
        if self._stale:
            self.on_model_changed()
        super().showEvent(event)

    @Slot()
    def on_model_changed(self) -> None:
        self._stale = not self.isVisible()
        if self._stale:  # a hidden window costs no CPU; it catches up when shown
            return
        extra = ""
        if self.model.update is not None:
            version, offered = self.model.update
            extra = f"A new version ({html.escape(version)}) is ready"
            url = safe_download_url(offered)  # only http(s), rebuilt here
            if url is not None:
                extra += f': <a href="{html.escape(url, quote=True)}">download it</a>'
            extra += "."
        self.headline.refresh(extra)
        self.overview_tab.refresh()
        if not self.streams_tab.list.hasFocus():
            self.streams_tab.refresh()
        self.preview_tab.refresh()

    @Slot(int)
    def on_tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is not self.preview_tab and self.preview_tab.player.playing():
            self.preview_tab.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.preview_tab.stop()
        if self.has_tray:
            event.ignore()
            self.hide()
        else:
            event.accept()
            self.close_requested.emit()
