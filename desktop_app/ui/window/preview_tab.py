"""Preview tab: watch the local relay's copy of a stream."""

from desktop_app.ui.model import NodeModel
from desktop_app.ui.preview import BACKENDS, PreviewWidget
from desktop_app.ui.qt import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget, Slot

__all__ = ["PreviewTab", "preview_url"]


def preview_url(model: NodeModel) -> str:
    """The local relay's playlist of the first live supported stream ("" when none)."""
    live = [name for name in model.relayed() if model.streams[name].live]
    if not model.running or not live:
        return ""
    return f"http://127.0.0.1:{model.relay_port}/live/{live[0]}.m3u8"


class PreviewTab(QWidget):
    """A player and a play/stop button."""

    def __init__(
        self, model: NodeModel, backends: tuple[str, ...] = BACKENDS, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.player = PreviewWidget(backends)
        self.toggle = QPushButton("Play")
        self.source = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.toggle)
        row.addWidget(self.source, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.player, 1)
        layout.addLayout(row)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.toggle.clicked.connect(self.on_toggle_clicked)

    def start(self) -> None:
        """Play the local relay, or say why not."""
        url = preview_url(self.model)
        if not url:
            self.player.stop()
            self.player.note.setText("Nothing to show: none of your streams is live right now.")
            self.player.message = self.player.note.text()
            return
        self.player.play(url)
        self.refresh()

    def stop(self) -> None:
        """Stop playing."""
        self.player.stop()
        self.refresh()

    def refresh(self) -> None:
        """Re-read the model."""
        self.toggle.setText("Stop" if self.player.playing() else "Play")
        url = self.player.url if self.player.playing() else preview_url(self.model)
        name = url.rsplit("/", 1)[-1].removesuffix(".m3u8") if url else ""
        self.source.setText(f"{name}, as your viewers get it from you" if name else "")
        self.source.setToolTip(url)

    @Slot()
    def on_toggle_clicked(self) -> None:
        if self.player.playing():
            self.stop()
        else:
            self.start()
