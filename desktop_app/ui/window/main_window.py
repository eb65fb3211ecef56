"""The main window: a banner with the status line and one tab per topic."""

import html

from desktop_app.core.links import safe_download_url
from desktop_app.ui.icons import app_icon
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import (
    QCloseEvent,
    QLabel,
    QMainWindow,
    QShowEvent,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
    Slot,
)
from desktop_app.ui.settings import TraySettings
from desktop_app.ui.window.earnings_tab import EarningsTab
from desktop_app.ui.window.impact_tab import ImpactTab
from desktop_app.ui.window.preview_tab import PreviewTab
from desktop_app.ui.window.settings_tab import SettingsTab
from desktop_app.ui.window.status_tab import StatusTab
from desktop_app.ui.window.streams_tab import StreamsTab

__all__ = ["NO_TRAY_NOTE", "MainWindow"]

NO_TRAY_NOTE = (
    "Your desktop shows no tray icons, so StreamrP2P runs in this window: "
    "closing it stops relaying."
)


class MainWindow(QMainWindow):
    """Status, earnings, impact, streams, preview and settings.

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
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.has_tray = has_tray
        self.setWindowTitle("StreamrP2P")
        self.setWindowIcon(app_icon())
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)  # every part escaped or app-built
        self.banner.setOpenExternalLinks(True)
        self.no_tray = QLabel(NO_TRAY_NOTE)
        self.no_tray.setWordWrap(True)
        self.no_tray.setStyleSheet("background: #fff3cd; padding: 6px;")
        self.no_tray.setVisible(not has_tray)
        self.tabs = QTabWidget()
        self.status_tab = StatusTab(model)
        self.earnings_tab = EarningsTab(model)
        self.impact_tab = ImpactTab(model)
        self.streams_tab = StreamsTab(model)
        self.preview_tab = (
            PreviewTab(model, preview_backends)
            if preview_backends is not None
            else PreviewTab(model)
        )
        self.settings_tab = SettingsTab(settings)
        self.tabs.addTab(self.status_tab, "Status")
        self.tabs.addTab(self.earnings_tab, "Earnings")
        self.tabs.addTab(self.impact_tab, "Impact")
        self.tabs.addTab(self.streams_tab, "Streams")
        self.tabs.addTab(self.preview_tab, "Preview")
        self.tabs.addTab(self.settings_tab, "Settings")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.no_tray)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs)
        self.setCentralWidget(central)
        self.resize(640, 520)
        self._stale = True
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.model.changed.connect(self.on_model_changed)
        self.tabs.currentChanged.connect(self.on_tab_changed)

    def show_tab(self, name: str) -> None:
        """Bring the window to the front on the tab called `name` ("Status", "Preview", …)."""
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
        banner = f"<b>{html.escape(self.model.status_line())}</b>"
        if self.model.update is not None:
            version, offered = self.model.update
            banner += f"<br>Version {html.escape(version)} is available"
            url = safe_download_url(offered)  # only http(s), rebuilt here
            if url is not None:
                link = html.escape(url, quote=True)
                banner += f': <a href="{link}">{link}</a>'
        self.banner.setText(banner)
        self.status_tab.refresh()
        self.earnings_tab.refresh()
        self.impact_tab.refresh()
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
