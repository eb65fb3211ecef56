"""One instance per user and data folder: a second launch reaches the first."""

import os
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from desktop_app.ui.single_instance import ACTIVATE, SingleInstance, server_name, socket_path

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


@pytest.mark.skipif(sys.platform == "win32", reason="a named pipe on Windows")
def test_only_this_user_may_reach_the_socket(qtbot, tmp_path) -> None:
    name = server_name(str(tmp_path))
    first = SingleInstance(name)
    first.listen()
    try:
        assert stat.S_ISSOCK(socket_path(name).stat().st_mode)
        assert socket_path(name).stat().st_mode & 0o077 == 0
    finally:
        first.close()
    assert not socket_path(name).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="a named pipe on Windows")
def test_each_line_is_a_message_and_an_unended_one_is_not_taken(qtbot, tmp_path) -> None:
    name = server_name(str(tmp_path))
    first = SingleInstance(name)
    first.listen()
    got: list[str] = []
    first.message_received.connect(got.append)
    try:
        with socket.socket(socket.AF_UNIX) as second:
            second.connect(str(socket_path(name)))
            second.sendall(b"preview\nquit\nhalf a li")
            qtbot.wait_until(lambda: len(got) == 2, timeout=10_000)
        qtbot.wait(100)  # the close arrives: the unended line is dropped
        assert got == ["preview", "quit"]
    finally:
        first.close()


@pytest.mark.skipif(sys.platform == "win32", reason="QLocalServer serves Windows")
def test_the_tray_app_loads_no_qtnetwork_outside_windows() -> None:
    code = "import sys, desktop_app.ui.app; print('PySide6.QtNetwork' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
