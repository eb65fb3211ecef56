"""Start at login on each OS, written under a temporary HOME."""

import plistlib
import sys

import pytest

from desktop_app.ui import autostart

COMMAND = ["/opt/Streamr P2P/streamr-node", "--data-dir", "/home/sam/x"]


def test_linux_writes_an_xdg_autostart_entry(home) -> None:
    autostart.enable(COMMAND, platform="linux")
    entry = home / ".config" / "autostart" / "streamrp2p.desktop"
    text = entry.read_text()
    assert "Exec='/opt/Streamr P2P/streamr-node' --data-dir /home/sam/x\n" in text
    assert autostart.is_enabled("linux")
    autostart.disable("linux")
    assert not entry.exists() and not autostart.is_enabled("linux")


def test_macos_writes_a_launch_agent(home) -> None:
    autostart.enable(COMMAND, platform="darwin")
    plist = home / "Library" / "LaunchAgents" / "org.streamrp2p.tray.plist"
    data = plistlib.loads(plist.read_bytes())
    assert data["ProgramArguments"] == COMMAND and data["RunAtLoad"] is True
    autostart.disable("darwin")
    assert not plist.exists()


def test_windows_run_value_quotes_the_command() -> None:
    assert autostart.location("win32") == (
        r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run"
    )
    assert (
        autostart.windows_command_line([r"C:\Program Files\StreamrP2P\streamr-node.exe"])
        == r'"C:\Program Files\StreamrP2P\streamr-node.exe"'
    )


@pytest.mark.skipif(sys.platform != "win32", reason="the registry exists only on Windows")
def test_windows_writes_and_clears_the_run_key() -> None:
    autostart.enable(COMMAND, platform="win32")
    assert autostart.is_enabled("win32")
    autostart.disable("win32")
    assert not autostart.is_enabled("win32")


def test_unwritable_folder_is_a_clear_error(home) -> None:
    (home / ".config").mkdir()
    (home / ".config" / "autostart").write_text("a file where the folder should be")
    with pytest.raises(autostart.AutostartError, match="cannot set start at login"):
        autostart.enable(COMMAND, platform="linux")
