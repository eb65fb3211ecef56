"""Overview: what was earned (today, this period, all time, paid and pending), the chart, the
viewers helped, data served, uptime, the time credited this period (and why not the rest), and
how the host's checks went, with plain reasons."""

from datetime import date, timedelta

from desktop_app.ui.formatting import format_bytes, format_money
from desktop_app.ui.limits import month_start
from desktop_app.ui.model import NodeModel, utc_today
from desktop_app.ui.qt import (
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)
from desktop_app.ui.window.cards import Card, Figure
from desktop_app.ui.window.chart import EarningsChart

__all__ = ["CHART_DAYS", "OverviewTab"]

CHART_DAYS = 14


class OverviewTab(QWidget):
    """The friend's numbers at a glance."""

    def __init__(self, model: NodeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.today = Figure("Earned today")
        self.period = Figure("This period")
        self.lifetime = Figure("All time")
        self.chart = EarningsChart()
        chart_card = Card(f"Earnings, last {CHART_DAYS} days")
        chart_card.body.addWidget(self.chart)
        self.viewers = Figure("Viewers helped")
        self.served = Figure("Data passed on")
        self.uptime = Figure("App running for")
        self.trust = Figure("Host's checks")
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.trust.body.addWidget(self.reasons)
        self.credit = Card("Time credited this period")
        self.credit_summary = QLabel()
        self.credit_summary.setWordWrap(True)
        self.credit_lost = QLabel()
        self.credit_lost.setWordWrap(True)
        self.credit.body.addWidget(self.credit_summary)
        self.credit.body.addWidget(self.credit_lost)
        self.credit.hide()
        grid = QGridLayout()
        grid.setSpacing(10)
        for column, card in enumerate((self.today, self.period, self.lifetime)):
            grid.addWidget(card, 0, column)
        grid.addWidget(chart_card, 1, 0, 1, 3)
        grid.addWidget(self.viewers, 2, 0)
        grid.addWidget(self.served, 2, 1)
        grid.addWidget(self.uptime, 2, 2)
        grid.addWidget(self.credit, 3, 0, 1, 3)
        grid.addWidget(self.trust, 4, 0, 1, 3)
        # the reasons make the page as long as the host's words: it scrolls on small screens
        page = QWidget()
        inner = QVBoxLayout(page)
        inner.setContentsMargins(0, 6, 0, 0)
        inner.addLayout(grid)
        inner.addStretch(1)
        scroll = QScrollArea()
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    def refresh(self) -> None:
        """Re-read the model."""
        m = self.model
        money = m.money()
        cur = money.currency
        self.today.show_figure(
            format_money(money.today, cur), "an estimate of your share, settled at payout"
        )
        since = f"since {m.period_from:%b %d}, " if m.period_from else ""
        self.period.show_figure(format_money(money.period, cur), f"{since}not paid out yet")
        paid = f"{format_money(money.paid, cur)} paid"
        if money.last_paid_at is not None:
            paid += f" (last on {money.last_paid_at:%b %d})"
        pending = f"{format_money(money.pending, cur)} waiting for the host to pay"
        self.lifetime.show_figure(format_money(money.lifetime, cur), f"{paid}\n{pending}")
        self.chart.set_points(m.history.earnings_by_day(CHART_DAYS, utc_today()), cur)
        today = date.today()
        helped_today = m.history.viewers_helped_since(today)
        helped_all = m.history.viewers_helped_since(today - timedelta(days=400))
        self.viewers.show_figure(
            str(m.viewers_now()), f"watching now · {helped_today} today · {helped_all} in all"
        )
        self.served.show_figure(
            format_bytes(m.history.bytes_served_since(today)),
            f"today · {format_bytes(m.history.bytes_served_since(month_start(today)))} this month",
        )
        self._show_credit()
        uptime = m.uptime()
        caption = "paused now" if m.paused else "since the app started" if uptime else "not now"
        self.uptime.show_figure(uptime or "–", caption)
        passed, total = m.checks_summary()
        if total == 0:
            self.trust.show_figure("No checks yet", "The host checks this app now and then.")
            self.reasons.setText("")
            return
        self.trust.show_figure(f"{passed} of {total} passed", "the host's latest checks")
        reasons = m.failed_check_reasons()
        self.reasons.setText(
            "Failed because: " + "; ".join(reasons) + "."
            if reasons
            else "All recent checks passed."
        )

    def _show_credit(self) -> None:
        """What of this period's time online was credited, and why not the rest (host's words)."""
        words = self.model.credit_words()
        self.credit.setVisible(words is not None)
        if words is None:
            return
        summary, lost = words
        self.credit_summary.setText(summary)
        self.credit_lost.setText(
            "\n".join(lost) if lost else "All your time online this period was credited."
        )
