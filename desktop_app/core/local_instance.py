"""The Unix socket a running tray app listens on for later launches (Linux, macOS); Qt-free.

It lives where QLocalServer puts a plain name (the temp folder), user-only; each message is one
line of UTF-8. The tray's SingleInstance watches these sockets from the Qt event loop.
"""

import os
import socket
import tempfile
from pathlib import Path

__all__ = ["LineReader", "accept_ready", "listen_user_only", "send_line", "socket_path"]

MAX_PENDING = 64 * 1024  # bytes kept from one connection while no line ends


def socket_path(name: str) -> Path:
    """Where the socket of `name` lives."""
    return Path(tempfile.gettempdir()) / name


def send_line(name: str, message: str, timeout_s: float) -> bool:
    """Send `message` as one line to the app listening as `name`; False when none answers."""
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(timeout_s)
        try:
            client.connect(str(socket_path(name)))
            client.sendall(message.encode("utf-8") + b"\n")
        except OSError:  # no socket, nobody listening (a crash left it), or no answer
            return False
    return True


def listen_user_only(name: str) -> socket.socket:
    """A non-blocking listening socket only this user may reach (as QLocalServer's
    UserAccessOption): bound in a private folder, made user-only, then moved into place over
    whatever a crashed instance left there. Raises OSError."""
    server = socket.socket(socket.AF_UNIX)
    try:
        with tempfile.TemporaryDirectory(prefix="streamrp2p-") as private:  # mode 0700
            staging = Path(private) / "socket"
            server.bind(str(staging))
            os.chmod(staging, 0o600)
            server.listen(8)
            os.replace(staging, socket_path(name))
        server.setblocking(False)
    except OSError:
        server.close()
        raise
    return server


class LineReader:
    """One accepted connection: the complete lines it sent so far."""

    def __init__(self, connection: socket.socket) -> None:
        connection.setblocking(False)
        self.connection = connection
        self._pending = bytearray()

    def fileno(self) -> int:
        return self.connection.fileno()

    def read(self) -> tuple[list[bytes], bool]:
        """The lines that arrived (without their newline), and whether the connection is still
        open (after the peer closed it, or sent 64 KiB without a newline, it is not)."""
        lines: list[bytes] = []
        while True:
            try:
                chunk = self.connection.recv(4096)
            except BlockingIOError:
                return lines, True
            except OSError:
                chunk = b""
            if not chunk or len(self._pending) + len(chunk) > MAX_PENDING:
                return lines, False  # a line not ended by then is never taken
            self._pending += chunk
            while (end := self._pending.find(b"\n")) >= 0:
                lines.append(bytes(self._pending[:end]))
                del self._pending[: end + 1]

    def close(self) -> None:
        self.connection.close()


def accept_ready(server: socket.socket) -> list[LineReader]:
    """The connections waiting on a non-blocking listening socket."""
    readers: list[LineReader] = []
    while True:
        try:
            connection, _ = server.accept()
        except OSError:  # BlockingIOError: none left
            return readers
        readers.append(LineReader(connection))
