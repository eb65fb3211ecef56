"""Streams tab: which of the host's streams to help with, live or not."""

from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    Slot,
)

__all__ = ["StreamsTab"]


class StreamsTab(QWidget):
    """A checkable list of the host's streams.

    Signals:
        unsupported_changed(object): the list of stream names the friend unticked.
    """

    unsupported_changed = Signal(object)

    def __init__(self, model: NodeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.list = QListWidget()
        self.empty = QLabel("Your host has no stream yet.")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Tick the streams you want to help with:"))
        layout.addWidget(self.list)
        layout.addWidget(self.empty)
        self._refreshing = False
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.list.itemChanged.connect(self.on_item_changed)

    def refresh(self) -> None:
        """Re-read the model."""
        self._refreshing = True
        try:
            self.list.clear()
            for view in sorted(self.model.streams.values(), key=lambda v: v.name):
                live = "live now" if view.live else "offline"
                viewers = f", {view.viewers} watching through you" if view.viewers else ""
                item = QListWidgetItem(f"{view.name} ({live}{viewers})")
                item.setData(Qt.ItemDataRole.UserRole, view.name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = Qt.CheckState.Checked if view.supported else Qt.CheckState.Unchecked
                item.setCheckState(checked)
                self.list.addItem(item)
            self.empty.setVisible(not self.model.streams)
        finally:
            self._refreshing = False

    def unsupported(self) -> list[str]:
        """Names currently unticked."""
        names = []
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.checkState() != Qt.CheckState.Checked:
                names.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return names

    @Slot(QListWidgetItem)
    def on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._refreshing:
            self.unsupported_changed.emit(self.unsupported())
