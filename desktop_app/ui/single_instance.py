"""One app per user and data folder: a second launch hands its link to the first and exits."""

import getpass
import hashlib
import logging

from desktop_app.ui.errors import InstanceError
from desktop_app.ui.qt import QLocalServer, QLocalSocket, QObject, Signal, Slot

__all__ = ["ACTIVATE", "PREVIEW", "QUIT", "SingleInstance", "server_name"]

logger = logging.getLogger(__name__)
ACTIVATE = "activate"
PREVIEW = "preview"
QUIT = "quit"
TIMEOUT_MS = 1000


def server_name(data_dir: str) -> str:
    """The local socket name for this user and data folder (several nodes may run side by side)."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{data_dir}".encode()).hexdigest()[:12]
    return f"streamrp2p-{digest}"


class SingleInstance(QObject):
    """Listens as the first instance, or forwards a message to it.

    Signals:
        message_received(str): a later launch asked to be shown ("activate") or passed a link.
    """

    message_received = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server: QLocalServer | None = None
        self._sockets: list[QLocalSocket] = []

    def forward(self, message: str = ACTIVATE) -> bool:
        """Send `message` to a running instance; False when none answers."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(TIMEOUT_MS):
            return False
        socket.write(message.encode("utf-8") + b"\n")
        socket.flush()
        socket.waitForBytesWritten(TIMEOUT_MS)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(TIMEOUT_MS)
        return True

    def listen(self) -> None:
        """Become the first instance (clearing a socket a crashed instance left behind)."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                raise InstanceError(f"cannot listen on {self.name}: {server.errorString()}")
        self.server = server
        server.newConnection.connect(self.on_new_connection)

    def close(self) -> None:
        """Stop listening and drop open connections."""
        for socket in self._sockets:
            socket.readyRead.disconnect(self.on_ready_read)
            socket.disconnected.disconnect(self.on_ready_read)
            socket.abort()
            socket.deleteLater()
        self._sockets.clear()
        if self.server is not None:
            self.server.newConnection.disconnect(self.on_new_connection)
            self.server.close()
            self.server.deleteLater()
            self.server = None

    @Slot()
    def on_new_connection(self) -> None:
        assert self.server is not None
        while (socket := self.server.nextPendingConnection()) is not None:
            self._sockets.append(socket)
            socket.readyRead.connect(self.on_ready_read)
            socket.disconnected.connect(self.on_ready_read)
            self._read(socket)

    @Slot()
    def on_ready_read(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        while socket.canReadLine():
            line = bytes(socket.readLine().data()).decode("utf-8", "replace").strip()
            if line:
                logger.info("another launch asked: %s", line.split("?")[0])
                self.message_received.emit(line[:4096])
        unconnected = socket.state() == QLocalSocket.LocalSocketState.UnconnectedState
        if unconnected and socket in self._sockets:
            self._sockets.remove(socket)
            socket.deleteLater()
