"""The demo's ports: one a stopped demo left in TIME-WAIT is reused; relays stay on loopback."""

import socket
from pathlib import Path

from coordinator_service.demo.runner import Demo, DemoOptions, _free_port
from desktop_app.core.config import NodeConfig


def _port_in_time_wait() -> int:
    """A port whose server side closed first: it sits in TIME-WAIT, nothing listens.

    The listener sets SO_REUSEADDR as uvicorn and aiohttp do (Linux keeps that in the
    TIME-WAIT entry, and only then lets a new SO_REUSEADDR socket bind the port).
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server closes first: its end goes to TIME-WAIT
        client.recv(1)
        client.close()
    return port


def test_a_port_in_time_wait_is_not_taken() -> None:
    port = _port_in_time_wait()
    plain = socket.socket()
    try:  # what the demo did before: bind without SO_REUSEADDR fails
        plain.bind(("127.0.0.1", port))
        bound_plainly = True
    except OSError:
        bound_plainly = False
    finally:
        plain.close()
    assert not bound_plainly, "the port should be in TIME-WAIT"
    assert _free_port(port) == port  # the demo keeps the README's port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert _free_port(taken) != taken  # a port something listens on is still refused


def test_demo_nodes_relay_on_loopback_only(tmp_path: Path, monkeypatch) -> None:
    demo = Demo(DemoOptions(data_dir=tmp_path), out=lambda line: None)
    for key, value in demo._env.items():
        if key.startswith("STREAMR_NODE_"):
            monkeypatch.setenv(key, value)
    assert NodeConfig(data_dir=tmp_path / "node").relay_host == "127.0.0.1"
