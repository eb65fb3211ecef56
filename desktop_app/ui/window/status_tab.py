"""Status tab: relay health, reachability, viewers, upload vs cap, probes, last heartbeat."""

from desktop_app.ui.formatting import format_age, format_bytes, format_mbit
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import (
    QFormLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)

__all__ = ["StatusTab"]


class StatusTab(QWidget):
    """View of the node's health, with a button to check the relay port from outside.

    Signals:
        check_requested(): the friend pressed "Check now".
    """

    check_requested = Signal()

    def __init__(self, model: NodeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.health = QLabel()
        self.reachability = QLabel()
        self.coordinator = QLabel()
        self.viewers = QLabel()
        self.served = QLabel()
        self.upload = QProgressBar()
        self.upload.setRange(0, 1000)
        self.upload_text = QLabel()
        self.probes = QLabel()
        self.failures = QListWidget()
        self.failures.setMaximumHeight(120)
        self.heartbeat = QLabel()
        self.relay_url = QLabel()
        self.check_now = QPushButton("Check now")
        self.check_now.setToolTip("Ask the coordinator to fetch your relay from outside")
        self.reach_detail = QLabel()
        labels = (self.health, self.reachability, self.reach_detail, self.coordinator)
        for label in (*labels, self.relay_url):
            label.setWordWrap(True)
        for label in (*labels, self.relay_url, self.upload_text, self.probes, self.heartbeat):
            label.setTextFormat(Qt.TextFormat.PlainText)  # coordinator words, never markup
        form = QFormLayout()
        form.addRow("Relay:", self.health)
        form.addRow("Reachable from outside:", self.reachability)
        form.addRow("", self.check_now)
        form.addRow("", self.reach_detail)
        form.addRow("Coordinator:", self.coordinator)
        form.addRow("Viewers now:", self.viewers)
        form.addRow("Served this run:", self.served)
        form.addRow("Upload used:", self.upload)
        form.addRow("", self.upload_text)
        form.addRow("Probes:", self.probes)
        form.addRow("Failed probes:", self.failures)
        form.addRow("Last heartbeat:", self.heartbeat)
        form.addRow("Relay address:", self.relay_url)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        self.check_now.clicked.connect(self.check_requested)

    def refresh(self) -> None:
        """Re-read the model."""
        m = self.model
        self.health.setText(m.status_line())
        if m.relay_reachable is None:
            self.reachability.setText("not checked yet (the coordinator probes at random times)")
        elif m.relay_reachable:
            self.reachability.setText("yes: the coordinator's probes reach your relay")
        else:
            self.reachability.setText("no: open or forward the relay port (Settings)")
        self.reach_detail.setText(m.reachability_text)
        self.reach_detail.setVisible(bool(m.reachability_text))
        if m.coordinator_reachable is None:
            self.coordinator.setText("not contacted yet")
        elif m.coordinator_reachable:
            self.coordinator.setText(f"connected; this node is {m.node_state}")
        else:
            self.coordinator.setText(f"unreachable ({m.coordinator_detail or 'no answer'})")
        self.viewers.setText(str(m.viewers))
        sent = sum(s.bytes_served for s in m.streams.values())
        self.served.setText(format_bytes(sent))
        cap_bps = m.upload_cap_mbit * 1e6
        if cap_bps > 0:
            self.upload.setValue(min(1000, int(1000 * m.upload_bps / cap_bps)))
            self.upload_text.setText(
                f"{format_mbit(m.upload_bps)} of {m.upload_cap_mbit:g} Mbit/s cap"
            )
        else:
            self.upload.setValue(0)
            self.upload_text.setText(f"{format_mbit(m.upload_bps)} (no cap set)")
        self.probes.setText(f"{m.probes_passed} passed, {m.probes_failed} failed")
        self.failures.clear()
        for probe in reversed(m.probes):
            if not probe.ok:
                when = probe.at.strftime("%H:%M:%S")
                detail = f": {probe.detail}" if probe.detail else ""
                self.failures.addItem(f"{when} {probe.reason}{detail}")
        self.heartbeat.setText(format_age(m.last_heartbeat_at, m.now()))
        self.relay_url.setText(m.relay_url or "not started")
