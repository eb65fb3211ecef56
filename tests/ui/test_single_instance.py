"""One instance per user and data folder: a second launch reaches the first."""

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from desktop_app.ui.single_instance import ACTIVATE, SingleInstance, server_name

ROOT = Path(__file__).resolve().parents[2]
SECOND = (
    "import sys\n"
    "from desktop_app.ui.qt import QApplication\n"
    "from desktop_app.ui.single_instance import SingleInstance\n"
    "app = QApplication([])\n"
    "sys.exit(0 if SingleInstance(sys.argv[1]).forward(sys.argv[2]) else 3)\n"
)


def launch_second(name: str, message: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-c", SECOND, name, message], env=env)


def test_second_launch_forwards_its_link_to_the_first(qtbot, tmp_path) -> None:
    name = server_name(str(tmp_path))
    first = SingleInstance(name)
    first.listen()
    link = "streamr://join?coordinator=http://127.0.0.1:8000&code=abcdefghijklmnop"
    try:
        with qtbot.wait_signal(first.message_received, timeout=10_000) as blocker:
            second = launch_second(name, link)
        assert blocker.args == [link]
        assert second.wait(10) == 0
    finally:
        first.close()


def test_without_a_first_instance_forward_says_so(qtbot, tmp_path) -> None:
    assert not SingleInstance(server_name(str(tmp_path))).forward(ACTIVATE)


def test_instances_of_different_data_folders_are_separate(tmp_path) -> None:
    assert server_name(str(tmp_path / "a")) != server_name(str(tmp_path / "b"))


def test_a_stale_socket_left_by_a_crash_is_taken_over(qtbot, tmp_path) -> None:
    name = server_name(str(tmp_path))
    stale = Path(tempfile.gettempdir()) / name  # where QLocalServer puts a plain name
    with socket.socket(socket.AF_UNIX) as crashed:
        crashed.bind(str(stale))  # closed without unlinking, as a crash leaves it
    assert stale.exists()
    survivor = SingleInstance(name)
    survivor.listen()
    try:
        with qtbot.wait_signal(survivor.message_received, timeout=10_000):
            second = launch_second(name, ACTIVATE)
        assert second.wait(10) == 0
    finally:
        survivor.close()
