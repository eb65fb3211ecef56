"""Impact tab: what this friend carried, to how many viewers, per stream and period."""

from datetime import date, timedelta

from desktop_app.ui.formatting import format_bytes
from desktop_app.ui.history import Impact
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import QLabel, QVBoxLayout, QWidget

__all__ = ["PERIODS", "ImpactTab", "impact_sentence"]

PERIODS = (("today", 0), ("this week", 6), ("this month", 29))


def impact_sentence(item: Impact, period: str) -> str:
    """ "You carried 3.2 GB to 41 viewers of alex this week"."""
    plural = "viewer" if item.viewers == 1 else "viewers"
    return (
        f"You carried {format_bytes(item.bytes_served)} to {item.viewers} {plural} "
        f"of {item.stream} {period}"
    )


class ImpactTab(QWidget):
    """Sentences a friend can be proud of; kept across runs in the history file."""

    def __init__(self, model: NodeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(self.text.textFormat().RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)

    def sentences(self, today: date | None = None) -> list[str]:
        """One sentence per stream and period that has something to say."""
        today = today or date.today()
        lines: list[str] = []
        for period, days in PERIODS:
            for item in self.model.history.impact_since(today - timedelta(days=days)):
                if item.bytes_served or item.viewers:
                    lines.append(impact_sentence(item, period))
        return lines

    def refresh(self) -> None:
        """Re-read the model."""
        lines = self.sentences()
        if not lines:
            self.text.setText(
                "<p>Nothing carried yet. When viewers watch a stream through your relay, "
                "this tab says how much you carried for whom.</p>"
            )
            return
        items = "".join(f"<li>{line}</li>" for line in lines)
        self.text.setText(f"<h3>Your impact</h3><ul>{items}</ul>")
