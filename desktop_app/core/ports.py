"""Relay port helpers: is a port free here, find one that is not reserved; Qt-free."""

import socket
from collections.abc import Collection

__all__ = ["find_free_port", "port_is_free"]


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:
    """Whether a TCP server could bind `port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_free_port(start: int = 8090, tries: int = 50, avoid: Collection[int] = ()) -> int:
    """The first free port from `start` on (a stable, memorable choice), else any free one.

    Ports in `avoid` (the app's own status page, the port that just failed) are never chosen,
    even when they look free now.
    """
    for port in range(start, min(start + tries, 65536)):
        if port not in avoid and port_is_free(port):
            return port
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("0.0.0.0", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port
