"""About: the version, where the log is, and where to get help."""

from pathlib import Path

from desktop_app.ui.qt import QDesktopServices, QLabel, QPushButton, QUrl, QVBoxLayout, QWidget

__all__ = ["HELP_URL", "AboutTab"]

HELP_URL = "https://github.com/streamrp2p/streamrp2p#readme"


class AboutTab(QWidget):
    """Version, "Open log folder", help link."""

    def __init__(self, version: str, logs: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.logs = logs
        self.version = QLabel(f"<h3>StreamrP2P {version}</h3>")
        text = QLabel(
            "StreamrP2P passes a friend's live stream on to its viewers from your internet "
            "connection, and the host shares a reward with you for it. "
            f'Questions? <a href="{HELP_URL}">Read the help</a> or ask your host.'
        )
        text.setWordWrap(True)
        text.setOpenExternalLinks(True)
        self.open_logs = QPushButton("Open log folder")
        self.open_logs.setToolTip(str(logs))
        layout = QVBoxLayout(self)
        layout.addWidget(self.version)
        layout.addWidget(text)
        layout.addWidget(self.open_logs)
        layout.addStretch(1)
        self.open_logs.clicked.connect(self.on_open_logs_clicked)

    def on_open_logs_clicked(self) -> bool:
        """Open the log folder in the file manager."""
        self.logs.mkdir(parents=True, exist_ok=True)
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.logs)))
