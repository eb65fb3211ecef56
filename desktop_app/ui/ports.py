"""Relay port helpers: is a port free here, find one; Qt-free."""

import socket

__all__ = ["find_free_port", "port_is_free"]


def port_is_free(port: int, host: str = "0.0.0.0") -> bool:
    """Whether a TCP server could bind `port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_free_port(start: int = 8090, tries: int = 50) -> int:
    """The first free port from `start` on (a stable, memorable choice), else any free one."""
    for port in range(start, min(start + tries, 65536)):
        if port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])
