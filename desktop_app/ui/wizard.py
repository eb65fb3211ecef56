"""First run: paste the invite, choose names, pick the relay port, join, open the port."""

import logging
from dataclasses import dataclass
from typing import Protocol

from desktop_app.core.links import is_plain_http_remote
from desktop_app.ui.errors import JoinError
from desktop_app.ui.icons import app_icon
from desktop_app.ui.portmap import PortMapping
from desktop_app.ui.ports import find_free_port, port_is_free
from desktop_app.ui.qt import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
    Signal,
    Slot,
    asyncSlot,
)
from streamr_protocol.invite import InviteLink, InviteLinkError, parse_invite_link

__all__ = ["JoinBackend", "JoinWizard", "Joined"]

logger = logging.getLogger(__name__)

PLAIN_HTTP_WARNING = (
    "Warning: this coordinator uses plain http:// over the internet. Anyone on the way can "
    "read your node's token and change what your computer relays. Ask your host for an "
    "https:// invite link."
)


@dataclass(frozen=True)
class Joined:
    """What the wizard settled."""

    invite: InviteLink
    display_name: str
    payout_handle: str
    relay_port: int
    port_mapping: PortMapping | None


class JoinBackend(Protocol):
    """The core calls the wizard awaits (they raise JoinError with one line)."""

    async def check_coordinator(self, invite: InviteLink) -> str:
        """Check the coordinator of `invite` answers; return a short note."""
        ...

    async def join(
        self, invite: InviteLink, display_name: str, payout_handle: str, relay_port: int
    ) -> str:
        """Register this node with the invite; return the relay URL the coordinator uses."""
        ...

    async def map_port(self, port: int) -> PortMapping:
        """Try UPnP for `port`."""
        ...

    async def check_reachability(self, port: int, lan: str = "") -> tuple[bool, str]:
        """Have the coordinator fetch the relay on `port` from outside: (reachable, sentence)."""
        ...


def _status(label: QLabel, text: str, ok: bool | None) -> None:
    colour = {True: "#1e7e34", False: "#b02a37", None: "#555"}[ok]
    label.setStyleSheet(f"color: {colour};")
    label.setTextFormat(Qt.TextFormat.PlainText)  # coordinator words, never markup
    label.setText(text)


class InvitePage(QWizardPage):
    """Paste (or receive) the invite link and check it."""

    def __init__(self, wizard: "JoinWizard") -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Join a stream as a relay")
        self.setSubTitle("Paste the invite link your host sent you.")
        self.link = QLineEdit()
        self.link.setPlaceholderText("http://host:8000/join/… or streamr://join?…")
        self.check = QPushButton("Check invite")
        self.status = QLabel()
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.link, 1)
        row.addWidget(self.check)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.invite: InviteLink | None = None
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.link.textChanged.connect(self.on_link_text_changed)
        self.link.returnPressed.connect(self.check.click)
        self.check.clicked.connect(self._wizard.on_check_clicked)

    @Slot(str)
    def on_link_text_changed(self, text: str) -> None:
        self.invite = None
        _status(self.status, "", None)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.invite is not None


class ProfilePage(QWizardPage):
    """The name the host sees and where payouts go."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("About you")
        self.setSubTitle("The host sees your display name; payouts go to your payout handle.")
        self.display_name = QLineEdit()
        self.display_name.setMaxLength(64)
        self.payout_handle = QLineEdit()
        self.payout_handle.setMaxLength(128)
        self.payout_handle.setPlaceholderText("e.g. @venmo-name or a PayPal e-mail")
        form = QFormLayout(self)
        form.addRow("Display name:", self.display_name)
        form.addRow("Payout handle:", self.payout_handle)
        self.registerField("display_name*", self.display_name)
        self.registerField("payout_handle*", self.payout_handle)


class PortPage(QWizardPage):
    """Pick the relay port, join, and open the port on the router."""

    def __init__(self, wizard: "JoinWizard") -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Your relay")
        self.setSubTitle(
            "Viewers fetch the stream from this port on your computer. Join to register "
            "with the host's coordinator and open the port on your router."
        )
        self.port = QSpinBox()
        self.port.setRange(1024, 65535)
        self.find_port = QPushButton("Find a free port")
        self.join = QPushButton("Join")
        self.port_status = QLabel()
        self.join_status = QLabel()
        self.mapping_status = QLabel()
        self.reach_status = QLabel()
        labels = (self.port_status, self.join_status, self.mapping_status, self.reach_status)
        for label in labels:
            label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.port)
        row.addWidget(self.find_port)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.port_status)
        layout.addWidget(self.join)
        layout.addWidget(self.join_status)
        layout.addWidget(self.mapping_status)
        layout.addWidget(self.reach_status)
        layout.addStretch(1)
        self.joined: Joined | None = None
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.port.valueChanged.connect(self.on_port_value_changed)
        self.find_port.clicked.connect(self.on_find_clicked)
        self.join.clicked.connect(self._wizard.on_join_clicked)

    def initializePage(self) -> None:
        self.on_port_value_changed(self.port.value())

    @Slot(int)
    def on_port_value_changed(self, port: int) -> None:
        if port_is_free(port):
            _status(self.port_status, f"Port {port} is free on this computer.", True)
        else:
            _status(self.port_status, f"Port {port} is taken: pick another or find one.", False)

    @Slot()
    def on_find_clicked(self) -> None:
        self.port.setValue(find_free_port(self.port.value()))

    def isComplete(self) -> bool:
        return self.joined is not None


class DonePage(QWizardPage):
    """What happens next."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("You're set")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        QVBoxLayout(self).addWidget(self.summary)

    def initializePage(self) -> None:
        joined = self.wizard().property("joined_text") or ""
        self.summary.setText(
            f"{joined}\n\nStreamrP2P now lives in your tray: green means you are relaying, "
            "amber needs a look, red needs you. The coordinator checks your relay at random "
            "times; the window's Status tab shows what it found."
        )


class JoinWizard(QWizard):
    """The first-run wizard; `joined` carries the result when the friend finishes.

    Signals:
        joined(object): a Joined, once registration succeeded.
    """

    joined = Signal(object)

    def __init__(
        self,
        backend: JoinBackend,
        invite_text: str = "",
        relay_port: int = 8090,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.setWindowTitle("StreamrP2P: join a stream")
        self.setWindowIcon(app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.invite_page = InvitePage(self)
        self.profile_page = ProfilePage()
        self.port_page = PortPage(self)
        self.done_page = DonePage()
        for page in (self.invite_page, self.profile_page, self.port_page, self.done_page):
            self.addPage(page)
        self.port_page.port.setValue(relay_port)
        self.resize(560, 420)
        if invite_text:
            self.set_invite_text(invite_text)

    def set_invite_text(self, text: str) -> None:
        """Fill in a link (from a streamr:// launch or a file) and check it."""
        self.invite_page.link.setText(text.strip())
        self.invite_page.check.click()

    @asyncSlot()
    async def on_check_clicked(self) -> None:
        page = self.invite_page
        text = page.link.text()
        try:
            invite = parse_invite_link(text)
        except InviteLinkError as exc:
            _status(page.status, f"Not an invite link: {exc}", False)
            return
        page.check.setEnabled(False)
        _status(page.status, f"Checking {invite.coordinator_url} …", None)
        try:
            note = await self.backend.check_coordinator(invite)
        except JoinError as exc:
            _status(page.status, str(exc), False)
            return
        finally:
            page.check.setEnabled(True)
        if page.link.text() != text:  # edited while checking: that text is checked anew
            return
        page.invite = invite
        if is_plain_http_remote(invite.coordinator_url):
            _status(page.status, f"{note}\n{PLAIN_HTTP_WARNING}", None)
        else:
            _status(page.status, note, True)
        page.completeChanged.emit()

    @asyncSlot()
    async def on_join_clicked(self) -> None:
        page = self.port_page
        invite = self.invite_page.invite
        if invite is None:
            return
        name = str(self.field("display_name")).strip()
        handle = str(self.field("payout_handle")).strip()
        port = page.port.value()
        if not port_is_free(port):
            _status(page.join_status, f"Port {port} is taken: pick another first.", False)
            return
        page.join.setEnabled(False)
        _status(page.join_status, "Joining …", None)
        try:
            relay_url = await self.backend.join(invite, name, handle, port)
        except JoinError as exc:
            page.join.setEnabled(True)
            hint = " Go back and paste a new invite." if exc.invite_problem else ""
            _status(page.join_status, f"{exc}{hint}", False)
            return
        _status(page.join_status, f"Joined {invite.coordinator_url} as {name}.", True)
        _status(page.mapping_status, "Asking your router to open the port (UPnP) …", None)
        mapping = await self.backend.map_port(port)
        _status(page.mapping_status, mapping.message, True if mapping.ok else None)
        _status(page.reach_status, "Checking from outside that viewers can reach you …", None)
        try:
            reachable, note = await self.backend.check_reachability(port, mapping.lan_address)
        except JoinError as exc:
            _status(page.reach_status, str(exc), None)
        else:
            _status(page.reach_status, note, reachable)
        page.joined = Joined(invite, name, handle, port, mapping)
        self.setProperty("joined_text", f"Joined as {name}; your relay: {relay_url}.")
        page.completeChanged.emit()
        self.joined.emit(page.joined)
