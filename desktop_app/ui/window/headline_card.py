"""The top of the window: the state icon, one headline, one sentence, one "fix it" button."""

import html

from desktop_app.ui.headline import Action
from desktop_app.ui.icons import tray_icon
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    Slot,
)
from desktop_app.ui.window.cards import Card

__all__ = ["HeadlineCard"]


class HeadlineCard(Card):
    """Shows `model.headline()`.

    Signals:
        action_requested(str): the friend pressed the button; an Action value.
    """

    action_requested = Signal(str)

    def __init__(self, model: NodeModel, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.title.hide()
        self.model = model
        self.icon = QLabel()
        self.headline = QLabel()
        self.headline.setObjectName("headline")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.PlainText)  # may carry the host's words
        self.detail = QLabel()
        self.detail.setObjectName("muted")
        self.detail.setWordWrap(True)
        self.detail.setOpenExternalLinks(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)  # every part escaped or app-built
        self.button = QPushButton()
        self.button.setObjectName("primary")
        self._action = Action.NONE
        text = QVBoxLayout()
        text.addWidget(self.headline)
        text.addWidget(self.detail)
        row = QHBoxLayout()
        row.addWidget(self.icon)
        row.addLayout(text, 1)
        row.addWidget(self.button)
        self.body.addLayout(row)
        self.button.clicked.connect(self.on_button_clicked)

    def refresh(self, extra: str = "") -> None:
        """Re-read the model; `extra` (an update notice) goes under the sentence."""
        headline = self.model.headline()
        self.icon.setPixmap(tray_icon(headline.state.value).pixmap(40, 40))
        self.headline.setText(headline.title)
        detail = html.escape(headline.detail) + (f"<br>{extra}" if extra else "")
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        self._action = headline.action
        self.button.setText(headline.action_text)
        self.button.setVisible(headline.action is not Action.NONE)

    @Slot()
    def on_button_clicked(self) -> None:
        if self._action is not Action.NONE:
            self.action_requested.emit(self._action.value)
