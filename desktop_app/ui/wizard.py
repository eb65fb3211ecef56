"""First run, as short as it gets: paste the invite → your name and payout handle → done.

The port is chosen and opened (UPnP) by itself; the last page says in one sentence how it went.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from desktop_app.core.links import is_plain_http_remote
from desktop_app.core.portmap import PortMapping
from desktop_app.core.ports import find_free_port, port_is_free
from desktop_app.ui.errors import JoinError
from desktop_app.ui.icons import app_icon
from desktop_app.ui.qt import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
    Signal,
    Slot,
    asyncSlot,
)
from desktop_app.ui.theme import current_theme
from streamr_protocol.invite import InviteLink, InviteLinkError, parse_invite_link

__all__ = ["PLAIN_HTTP_WARNING", "JoinBackend", "JoinWizard", "Joined", "choose_port"]

logger = logging.getLogger(__name__)
PLAIN_HTTP_WARNING = (
    "Careful: this link does not use a secure connection (https://). Anyone on the way could "
    "read your app's key and change what your computer passes on. Ask your host for an "
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
        """Check the host of `invite` answers (and knows the code); return a short note."""
        ...

    async def join(
        self, invite: InviteLink, display_name: str, payout_handle: str, relay_port: int
    ) -> str:
        """Register this node with the invite; return the relay URL the host uses."""
        ...

    async def map_port(self, port: int) -> PortMapping:
        """Try UPnP for `port`."""
        ...

    async def check_reachability(self, port: int, lan: str = "") -> tuple[bool, str]:
        """Have the host fetch the relay on `port` from outside: (reachable, sentence)."""
        ...


def choose_port(wanted: int, reserved: Collection[int] = ()) -> int:
    """`wanted` when it is free and not reserved, else the next free one."""
    if wanted not in reserved and port_is_free(wanted):
        return wanted
    return find_free_port(wanted, avoid=set(reserved) | {wanted})


def _status(label: QLabel, text: str, ok: bool | None) -> None:
    theme = current_theme()
    colour = {True: theme.ok, False: theme.error, None: theme.muted}[ok]
    label.setStyleSheet(f"color: {colour};")
    label.setTextFormat(Qt.TextFormat.PlainText)  # the host's words, never markup
    label.setText(text)


class InvitePage(QWizardPage):
    """Paste (or receive) the invite link; it is checked with the host."""

    def __init__(self, wizard: "JoinWizard") -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Help a friend's live stream")
        self.setSubTitle("Paste the invite link your host sent you.")
        self.link = QLineEdit()
        self.link.setPlaceholderText("https://…/join/… or streamr://join?…")
        self.check = QPushButton("Check")
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
    """The name the host sees and where payouts go; "Join" registers."""

    def __init__(self, wizard: "JoinWizard") -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("About you")
        self.setSubTitle("Your host sees your name and pays you at your payout handle.")
        self.display_name = QLineEdit()
        self.display_name.setMaxLength(64)
        self.payout_handle = QLineEdit()
        self.payout_handle.setMaxLength(128)
        self.payout_handle.setPlaceholderText("e.g. @venmo-name or a PayPal e-mail")
        self.join_status = QLabel()
        self.join_status.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Your name:", self.display_name)
        form.addRow("Payout handle:", self.payout_handle)
        form.addRow("", self.join_status)
        self.registerField("display_name*", self.display_name)
        self.registerField("payout_handle*", self.payout_handle)
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Join")
        self.joined: Joined | None = None
        self.joining = False

    def validatePage(self) -> bool:
        if self.joined is not None:
            return True
        if not self.joining:
            self._wizard.start_join()
        return False


class DonePage(QWizardPage):
    """The result in one sentence, while the port is opened and checked from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("You're in")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.how = QLabel()
        self.how.setWordWrap(True)
        self.how.setObjectName("muted")
        self.how.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.how)
        layout.addStretch(1)
        self.checked = False

    def isComplete(self) -> bool:
        return self.checked


class JoinWizard(QWizard):
    """The first-run wizard; `joined` carries the result once registration succeeded.

    Signals:
        joined(object): a Joined.
    """

    joined = Signal(object)

    def __init__(
        self,
        backend: JoinBackend,
        invite_text: str = "",
        relay_port: int = 8090,
        reserved_ports: Collection[int] = (),
        display_name: str = "",
        payout_handle: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.backend = backend
        self.relay_port = relay_port
        self.reserved_ports = set(reserved_ports)
        self.setWindowTitle("StreamrP2P")
        self.setWindowIcon(app_icon())
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.IndependentPages, True)  # Back keeps what was typed
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.invite_page = InvitePage(self)
        self.profile_page = ProfilePage(self)
        self.done_page = DonePage()
        for page in (self.invite_page, self.profile_page, self.done_page):
            self.addPage(page)
        self.profile_page.display_name.setText(display_name)
        self.profile_page.payout_handle.setText(payout_handle)
        self.resize(560, 380)
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
        _status(page.status, "Checking the invite with your host…", None)
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

    def start_join(self) -> None:
        """Join with the page's names (the Join button); the wizard moves on when it worked."""
        self.profile_page.joining = True
        self._join()

    @asyncSlot()
    async def _join(self) -> None:
        page = self.profile_page
        invite = self.invite_page.invite
        try:
            if invite is None:
                return
            name = str(self.field("display_name")).strip()
            handle = str(self.field("payout_handle")).strip()
            port = choose_port(self.relay_port, self.reserved_ports)
            _status(page.join_status, "Joining…", None)
            try:
                await self.backend.join(invite, name, handle, port)
            except JoinError as exc:
                hint = " Go back and paste a new invite." if exc.invite_problem else ""
                _status(page.join_status, f"{exc}{hint}", False)
                return
            _status(page.join_status, f"Joined as {name}.", True)
            page.joined = Joined(invite, name, handle, port, None)
        finally:
            page.joining = False
        self.next()
        await self._open_port(page.joined)

    async def _open_port(self, joined: Joined) -> None:
        done = self.done_page
        done.summary.setText("Opening your connection to viewers…")
        mapping = await self.backend.map_port(joined.relay_port)
        try:
            reachable, note = await self.backend.check_reachability(
                joined.relay_port, mapping.lan_address
            )
        except JoinError as exc:
            reachable, note = False, str(exc)
        joined = Joined(
            joined.invite, joined.display_name, joined.payout_handle, joined.relay_port, mapping
        )
        self.profile_page.joined = joined
        if reachable:
            done.summary.setText(
                f"All set, {joined.display_name}: viewers can reach you, and the icon in your "
                "tray turns green while you help a live stream."
            )
        else:
            done.summary.setText(
                f"You joined, {joined.display_name}, but viewers cannot reach you yet: the "
                "window shows a Fix it button until they can."
            )
            done.how.setText(note)
            done.how.show()
        done.checked = True
        done.completeChanged.emit()
        self.joined.emit(joined)
