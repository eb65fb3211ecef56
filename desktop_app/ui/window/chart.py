"""Earnings per day as bars, with a money axis, gridlines, dates and today's value (QPainter)."""

from datetime import date

from desktop_app.ui.formatting import format_money
from desktop_app.ui.qt import QColor, QPainter, QPaintEvent, QPen, QRectF, QSize, Qt, QWidget
from desktop_app.ui.theme import current_theme

__all__ = ["EarningsChart", "nice_top"]

GRID_LINES = 4


def nice_top(peak: int) -> int:
    """A round axis maximum at or above `peak` (1, 2, 5 × a power of ten; at least 4)."""
    if peak <= 0:
        return 4
    step = 1
    while True:
        for factor in (1, 2, 5):
            top = factor * step * GRID_LINES
            if top >= peak:
                return top
        step *= 10


class EarningsChart(QWidget):
    """Bars of minor units per day; the newest day (today) on the right, labelled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[date, int]] = []
        self.currency = "USD"
        self.setMinimumHeight(170)

    def sizeHint(self) -> QSize:
        return QSize(520, 210)

    def set_points(self, points: list[tuple[date, int]], currency: str) -> None:
        """Show `points` (day, amount in minor units)."""
        self.points, self.currency = points, currency
        self.update()

    def bar_rect(self, index: int) -> QRectF:
        """Where bar `index` is drawn (tests look at its colour)."""
        area = self._area()
        slot = area.width() / max(1, len(self.points))
        top = nice_top(max((a for _, a in self.points), default=0))
        amount = self.points[index][1]
        height = area.height() * amount / top
        return QRectF(
            area.left() + index * slot + slot * 0.15, area.bottom() - height, slot * 0.7, height
        )

    def _area(self) -> QRectF:
        metrics = self.fontMetrics()
        label = metrics.horizontalAdvance(format_money(nice_top(self._peak()), self.currency))
        left = float(label + 12)
        top = float(metrics.height() + 6)
        bottom = float(metrics.height() + 8)
        return QRectF(left, top, self.width() - left - 8, self.height() - top - bottom)

    def _peak(self) -> int:
        return max((a for _, a in self.points), default=0)

    def paintEvent(self, event: QPaintEvent) -> None:
        theme = current_theme()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        area = self._area()
        top = nice_top(self._peak())
        grid, muted = QColor(theme.border), QColor(theme.muted)
        for line in range(GRID_LINES + 1):
            y = area.bottom() - area.height() * line / GRID_LINES
            painter.setPen(QPen(grid, 1))
            painter.drawLine(int(area.left()), int(y), int(area.right()), int(y))
            painter.setPen(QPen(muted, 1))
            text = format_money(top * line // GRID_LINES, self.currency)
            painter.drawText(
                QRectF(0, y - metrics.height() / 2, area.left() - 6, metrics.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
        if not self.points or self._peak() == 0:
            painter.setPen(QPen(muted, 1))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "No earnings yet")
        painter.setPen(Qt.PenStyle.NoPen)
        for index in range(len(self.points)):
            last = index == len(self.points) - 1
            painter.setBrush(QColor(theme.accent if last else theme.idle))
            painter.drawRoundedRect(self.bar_rect(index), 2, 2)
        painter.setPen(QPen(muted, 1))
        if self.points:
            below = QRectF(area.left(), area.bottom() + 4, area.width(), metrics.height() + 4)
            painter.drawText(below, Qt.AlignmentFlag.AlignLeft, f"{self.points[0][0]:%b %d}")
            painter.drawText(below, Qt.AlignmentFlag.AlignRight, "today")
            today = self.points[-1][1]
            painter.setPen(QPen(QColor(theme.text), 1))
            painter.drawText(
                QRectF(area.left(), 0, area.width(), area.top() - 2),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
                f"today {format_money(today, self.currency)}",
            )
        painter.end()
