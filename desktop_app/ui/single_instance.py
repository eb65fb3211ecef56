"""One app per user and data folder: a second launch hands its link to the first and exits.

The first instance listens where QLocalServer would: on Linux and macOS a user-only Unix socket
in the temp folder (core/local_instance.py) watched by a QSocketNotifier (QtNetwork alone held
2.7 MB of the idle tray, issue 17); on Windows a named pipe through QLocalServer. Each message
is one line of UTF-8 text.
"""

import getpass
import hashlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from desktop_app.core.local_instance import (
    LineReader,
    accept_ready,
    listen_user_only,
    send_line,
    socket_path,
)
from desktop_app.ui.errors import InstanceError
from desktop_app.ui.qt import QObject, QSocketNotifier, Signal, Slot, qt_network

__all__ = ["ACTIVATE", "PREVIEW", "QUIT", "SingleInstance", "server_name", "socket_path"]

logger = logging.getLogger(__name__)
ACTIVATE = "activate"
PREVIEW = "preview"
QUIT = "quit"
TIMEOUT_MS = 1000
MAX_LINE = 4096


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
        self._channel: _UnixChannel | _PipeChannel | None = None

    def forward(self, message: str = ACTIVATE) -> bool:
        """Send `message` to a running instance; False when none answers."""
        if sys.platform == "win32":
            return _PipeChannel.forward(self.name, message)
        return _UnixChannel.forward(self.name, message)

    def listen(self) -> None:
        """Become the first instance (taking over a socket a crashed instance left behind)."""
        channel_type = _PipeChannel if sys.platform == "win32" else _UnixChannel
        self._channel = channel_type(self.name, self._received, self)

    def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def _received(self, data: bytes) -> None:
        line = data.decode("utf-8", "replace").strip()
        if line:
            logger.info("another launch asked: %s", line.split("?")[0])
            self.message_received.emit(line[:MAX_LINE])


class _UnixChannel(QObject):
    """The listening Unix socket and its connections, watched by the Qt event loop."""

    def __init__(self, name: str, on_line: Callable[[bytes], None], parent: QObject) -> None:
        super().__init__(parent)
        self.path = socket_path(name)
        self.on_line = on_line
        try:
            self.server = listen_user_only(name)
        except OSError as exc:
            raise InstanceError(f"cannot listen on {name}: {exc.strerror or exc}") from exc
        self.notifier = QSocketNotifier(self.server.fileno(), QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self.on_connection_ready)
        self.readers: dict[LineReader, QSocketNotifier] = {}

    @staticmethod
    def forward(name: str, message: str) -> bool:
        return send_line(name, message, TIMEOUT_MS / 1000)

    @Slot()
    def on_connection_ready(self) -> None:
        for reader in accept_ready(self.server):
            notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, self)
            notifier.activated.connect(lambda *_, r=reader: self._read(r))
            self.readers[reader] = notifier
            self._read(reader)

    def _read(self, reader: LineReader) -> None:
        if reader not in self.readers:
            return
        lines, still_open = reader.read()
        for line in lines:
            self.on_line(line)
        if not still_open:
            self._drop(reader)

    def _drop(self, reader: LineReader) -> None:
        notifier = self.readers.pop(reader)
        notifier.setEnabled(False)
        notifier.deleteLater()
        reader.close()

    def close(self) -> None:
        for reader in list(self.readers):
            self._drop(reader)
        self.notifier.setEnabled(False)
        self.server.close()
        self.path.unlink(missing_ok=True)


class _PipeChannel(QObject):
    """Windows: QLocalServer on a named pipe (QtNetwork loaded only here)."""

    def __init__(self, name: str, on_line: Callable[[bytes], None], parent: QObject) -> None:
        super().__init__(parent)
        network = qt_network()
        self.local_socket = network.QLocalSocket
        self.on_line = on_line
        self.sockets: list[Any] = []
        server = network.QLocalServer(self)
        server.setSocketOptions(network.QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(name):
            network.QLocalServer.removeServer(name)
            if not server.listen(name):
                raise InstanceError(f"cannot listen on {name}: {server.errorString()}")
        self.server = server
        server.newConnection.connect(self.on_new_connection)

    @staticmethod
    def forward(name: str, message: str) -> bool:
        local_socket = qt_network().QLocalSocket
        client = local_socket()
        client.connectToServer(name)
        if not client.waitForConnected(TIMEOUT_MS):
            return False
        client.write(message.encode("utf-8") + b"\n")
        client.flush()
        client.waitForBytesWritten(TIMEOUT_MS)
        client.disconnectFromServer()
        if client.state() != local_socket.LocalSocketState.UnconnectedState:
            client.waitForDisconnected(TIMEOUT_MS)
        return True

    @Slot()
    def on_new_connection(self) -> None:
        while (connection := self.server.nextPendingConnection()) is not None:
            self.sockets.append(connection)
            connection.readyRead.connect(self.on_ready_read)
            connection.disconnected.connect(self.on_ready_read)
            self._read(connection)

    @Slot()
    def on_ready_read(self) -> None:
        connection = self.sender()
        if isinstance(connection, self.local_socket):
            self._read(connection)

    def _read(self, connection: Any) -> None:
        while connection.canReadLine():
            self.on_line(bytes(connection.readLine().data()).rstrip(b"\n"))
        unconnected = connection.state() == self.local_socket.LocalSocketState.UnconnectedState
        if unconnected and connection in self.sockets:
            self.sockets.remove(connection)
            connection.deleteLater()

    def close(self) -> None:
        for connection in self.sockets:
            connection.readyRead.disconnect(self.on_ready_read)
            connection.disconnected.disconnect(self.on_ready_read)
            connection.abort()
            connection.deleteLater()
        self.sockets.clear()
        self.server.newConnection.disconnect(self.on_new_connection)
        self.server.close()
        self.server.deleteLater()
