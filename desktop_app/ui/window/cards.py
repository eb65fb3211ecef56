"""Small building blocks of the window: a card with a title, and a figure with a caption."""

from desktop_app.ui.qt import QFrame, QLabel, QVBoxLayout, QWidget

__all__ = ["Card", "Figure"]


class Card(QFrame):
    """A rounded panel with a muted title (styled by the theme's `#card`)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(14, 10, 14, 12)
        self.title = QLabel(title)
        self.title.setObjectName("muted")
        self.body.addWidget(self.title)


class Figure(Card):
    """A card showing one big figure and a line under it."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.value = QLabel("–")
        self.value.setObjectName("figure")
        self.caption = QLabel()
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        self.body.addWidget(self.value)
        self.body.addWidget(self.caption)

    def show_figure(self, value: str, caption: str = "") -> None:
        """Set the figure and its caption."""
        self.value.setText(value)
        self.caption.setText(caption)
        self.caption.setVisible(bool(caption))
