"""A small bar chart of earnings per day, drawn with QPainter."""

from datetime import date

from desktop_app.ui.formatting import format_money
from desktop_app.ui.qt import QColor, QPainter, QPaintEvent, QPen, QRectF, QSize, Qt, QWidget

__all__ = ["EarningsChart"]

BAR = QColor("#2f80ed")
AXIS = QColor("#6c757d")


class EarningsChart(QWidget):
    """Bars of minor units per day; the newest day on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[date, int]] = []
        self.currency = "USD"
        self.setMinimumHeight(160)

    def sizeHint(self) -> QSize:
        return QSize(480, 200)

    def set_points(self, points: list[tuple[date, int]], currency: str) -> None:
        """Show `points` (day, amount in minor units)."""
        self.points, self.currency = points, currency
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        left, bottom, top = 8.0, float(metrics.height() + 6), float(metrics.height() + 4)
        area = QRectF(left, top, self.width() - 2 * left, self.height() - top - bottom)
        painter.setPen(QPen(AXIS, 1))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        if not self.points:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "No earnings yet")
            painter.end()
            return
        peak = max(amount for _, amount in self.points)
        painter.drawText(
            QRectF(left, 0, area.width(), top),
            Qt.AlignmentFlag.AlignLeft,
            f"best day {format_money(peak, self.currency)}",
        )
        slot = area.width() / len(self.points)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BAR)
        for index, (_, amount) in enumerate(self.points):
            height = 0.0 if peak == 0 else area.height() * amount / peak
            painter.drawRect(
                QRectF(
                    area.left() + index * slot + slot * 0.15,
                    area.bottom() - height,
                    slot * 0.7,
                    height,
                )
            )
        painter.setPen(QPen(AXIS, 1))
        label_rect = QRectF(left, area.bottom() + 2, area.width(), bottom)
        painter.drawText(
            label_rect, Qt.AlignmentFlag.AlignLeft, self.points[0][0].strftime("%b %d")
        )
        painter.drawText(label_rect, Qt.AlignmentFlag.AlignRight, "today")
        painter.end()
