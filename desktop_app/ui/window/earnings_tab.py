"""Earnings tab: today, this period, a chart over time and the payout history."""

from datetime import date

from desktop_app.ui.formatting import format_money
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import (
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from desktop_app.ui.window.chart import EarningsChart

__all__ = ["EarningsTab"]

CHART_DAYS = 30


class EarningsTab(QWidget):
    """What this node earned, from the coordinator's ledger."""

    def __init__(self, model: NodeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.today = QLabel()
        self.period = QLabel()
        self.chart = EarningsChart()
        self.payouts = QTableWidget(0, 4)
        self.payouts.setHorizontalHeaderLabels(["Period", "Stream", "Amount", "Paid"])
        self.payouts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.payouts.verticalHeader().setVisible(False)
        self.payouts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        form = QFormLayout()
        form.addRow("Earned today:", self.today)
        form.addRow("This period:", self.period)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"Last {CHART_DAYS} days"))
        layout.addWidget(self.chart)
        layout.addWidget(QLabel("Payouts"))
        layout.addWidget(self.payouts)

    def refresh(self) -> None:
        """Re-read the model."""
        m = self.model
        self.today.setText(format_money(m.today_minor, m.currency))
        since = f" (since {m.period_from:%b %d})" if m.period_from else ""
        self.period.setText(format_money(m.period_minor, m.currency) + since)
        self.chart.set_points(m.history.earnings_by_day(CHART_DAYS, date.today()), m.currency)
        self.payouts.setRowCount(len(m.payouts))
        for row, payout in enumerate(m.payouts):
            cells = (
                f"{payout.period_from:%b %d} – {payout.period_to:%b %d}",
                payout.stream or "all streams",
                format_money(payout.amount_minor, payout.currency),
                f"{payout.paid_at:%b %d}" if payout.paid_at else "not yet",
            )
            for column, text in enumerate(cells):
                self.payouts.setItem(row, column, QTableWidgetItem(text))
