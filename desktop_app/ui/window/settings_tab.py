"""Settings: names, upload cap, monthly data cap, hours, port, start at login, leaving."""

from collections.abc import Collection

from pydantic import ValidationError

from desktop_app.core.ports import find_free_port
from desktop_app.ui.qt import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    Slot,
)
from desktop_app.ui.settings import TraySettings

__all__ = ["SettingsTab"]


class SettingsTab(QWidget):
    """Edits a copy of the settings; "Save" hands the new settings to the app.

    Signals:
        settings_saved(object): the new TraySettings.
        leave_requested(): the friend confirmed leaving this coordinator.
    """

    settings_saved = Signal(object)
    leave_requested = Signal()

    def __init__(
        self,
        settings: TraySettings,
        reserved_ports: Collection[int] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.reserved_ports = set(reserved_ports)
        self.display_name = QLineEdit()
        self.payout_handle = QLineEdit()
        self.payout_handle.setPlaceholderText("e.g. @venmo-name or paypal e-mail")
        self.upload_cap = QDoubleSpinBox()
        self.upload_cap.setRange(0, 100_000)
        self.upload_cap.setDecimals(1)
        self.upload_cap.setSuffix(" Mbit/s")
        self.upload_cap.setSpecialValueText("no cap")
        self.monthly_cap = QDoubleSpinBox()
        self.monthly_cap.setRange(0, 1_000_000)
        self.monthly_cap.setDecimals(0)
        self.monthly_cap.setSuffix(" GB a month")
        self.monthly_cap.setSpecialValueText("no limit")
        self.from_hour = QSpinBox()
        self.from_hour.setRange(0, 23)
        self.from_hour.setSuffix(":00")
        self.to_hour = QSpinBox()
        self.to_hour.setRange(1, 24)
        self.to_hour.setSuffix(":00")
        self.relay_port = QSpinBox()
        self.relay_port.setRange(1, 65535)
        self.find_port = QPushButton("Find a free port")
        self.start_at_login = QCheckBox("Start StreamrP2P when I log in")
        self.notifications = QCheckBox("Notify me about what needs my attention")
        self.save_button = QPushButton("Save")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.leave_button = QPushButton("Stop helping this host…")
        port_row = QHBoxLayout()
        port_row.addWidget(self.relay_port)
        port_row.addWidget(self.find_port)
        form = QFormLayout()
        form.addRow("Display name:", self.display_name)
        form.addRow("Payout handle:", self.payout_handle)
        hours = QHBoxLayout()
        hours.addWidget(QLabel("from"))
        hours.addWidget(self.from_hour)
        hours.addWidget(QLabel("to"))
        hours.addWidget(self.to_hour)
        hours.addStretch(1)
        form.addRow("Upload speed limit:", self.upload_cap)
        form.addRow("Data limit:", self.monthly_cap)
        form.addRow("Help only:", hours)
        form.addRow("Port:", port_row)
        form.addRow("", self.start_at_login)
        form.addRow("", self.notifications)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.save_button)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(self.leave_button)
        self._connect_signals()
        self.load(settings)

    def _connect_signals(self) -> None:
        self.save_button.clicked.connect(self.on_save_clicked)
        self.find_port.clicked.connect(self.on_find_port_clicked)
        self.leave_button.clicked.connect(self.on_leave_clicked)

    def load(self, settings: TraySettings) -> None:
        """Show `settings` in the form."""
        self.settings = settings
        self.display_name.setText(settings.display_name)
        self.payout_handle.setText(settings.payout_handle)
        self.upload_cap.setValue(settings.upload_cap_mbit)
        self.monthly_cap.setValue(settings.monthly_cap_gb)
        self.from_hour.setValue(settings.active_from_hour)
        self.to_hour.setValue(settings.active_to_hour)
        self.relay_port.setValue(settings.relay_port)
        self.start_at_login.setChecked(settings.start_at_login)
        self.notifications.setChecked(settings.notifications)

    def edited(self) -> TraySettings:
        """The settings as edited (raises ValidationError on bad input)."""
        return TraySettings.model_validate(
            self.settings.model_dump()
            | {
                "display_name": self.display_name.text(),
                "payout_handle": self.payout_handle.text(),
                "upload_cap_mbit": self.upload_cap.value(),
                "monthly_cap_gb": self.monthly_cap.value(),
                "active_from_hour": self.from_hour.value(),
                "active_to_hour": self.to_hour.value(),
                "relay_port": self.relay_port.value(),
                "start_at_login": self.start_at_login.isChecked(),
                "notifications": self.notifications.isChecked(),
            }
        )

    def show_message(self, text: str) -> None:
        """Say how saving went."""
        self.message.setText(text)

    @Slot()
    def on_save_clicked(self) -> None:
        try:
            new = self.edited()
        except ValidationError as exc:
            first = exc.errors()[0]
            self.show_message(f"Not saved: {first['loc'][0]}: {first['msg']}")
            return
        if not new.display_name:
            self.show_message("Not saved: the display name cannot be empty")
            return
        self.settings_saved.emit(new)

    @Slot()
    def on_find_port_clicked(self) -> None:
        current = self.relay_port.value()
        avoid = self.reserved_ports | {current}
        self.relay_port.setValue(find_free_port(current, avoid=avoid))

    @Slot()
    def on_leave_clicked(self) -> None:
        if self.leave_button.property("armed"):
            self.leave_button.setProperty("armed", False)
            self.leave_button.setText("Stop helping this host…")
            self.leave_requested.emit()
            return
        self.leave_button.setProperty("armed", True)
        self.leave_button.setText("Click again to stop helping: you stop earning here")
