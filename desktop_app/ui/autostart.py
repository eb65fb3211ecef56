"""Start the app at login: XDG autostart (Linux), a LaunchAgent (macOS), the Run key (Windows).

Qt-free. Paths follow $XDG_CONFIG_HOME and $HOME, so tests point them at a temporary folder.
"""

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["AutostartError", "disable", "enable", "is_enabled", "launch_command", "location"]

APP_ID = "streamrp2p"
LAUNCH_AGENT = "org.streamrp2p.tray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "StreamrP2P"


class AutostartError(Exception):
    """Start at login could not be changed."""


def launch_command() -> list[str]:
    """How to start this app again: the frozen executable, else `python -m desktop_app`."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "desktop_app"]


def location(platform: str = sys.platform) -> Path | str:
    """Where the login entry lives on `platform` (a file, or the registry key on Windows)."""
    if platform.startswith("win"):
        return "HKEY_CURRENT_USER\\" + RUN_KEY
    if platform == "darwin":
        return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT}.plist"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / f"{APP_ID}.desktop"


def _desktop_entry(command: Sequence[str]) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=StreamrP2P\n"
        "Comment=Relay your friends' live streams\n"
        f"Exec={shlex.join(command)}\n"
        "Icon=streamrp2p\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def _launch_agent(command: Sequence[str]) -> bytes:
    import plistlib  # macOS only: not loaded (with XML) where the app idles elsewhere

    return plistlib.dumps(
        {
            "Label": LAUNCH_AGENT,
            "ProgramArguments": list(command),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
    )


def windows_command_line(command: Sequence[str]) -> str:
    """The Run value: the command quoted the way Windows parses it."""
    return subprocess.list2cmdline(list(command))


def enable(command: Sequence[str] | None = None, platform: str = sys.platform) -> None:
    """Start the app at login with `command` (default: this app)."""
    command = list(command or launch_command())
    where = location(platform)
    try:
        if isinstance(where, str):
            _write_run_key(windows_command_line(command))
            return
        where.parent.mkdir(parents=True, exist_ok=True)
        if platform == "darwin":
            where.write_bytes(_launch_agent(command))
        else:
            where.write_text(_desktop_entry(command), encoding="utf-8")
    except OSError as exc:
        raise AutostartError(f"cannot set start at login in {where}: {exc}") from exc


def disable(platform: str = sys.platform) -> None:
    """Do not start at login any more."""
    where = location(platform)
    try:
        if isinstance(where, str):
            _write_run_key(None)
        else:
            where.unlink(missing_ok=True)
    except OSError as exc:
        raise AutostartError(f"cannot clear start at login in {where}: {exc}") from exc


def is_enabled(platform: str = sys.platform) -> bool:
    """Whether a login entry exists."""
    where = location(platform)
    if isinstance(where, str):
        return _read_run_key() is not None
    return where.exists()


def _write_run_key(value: str | None) -> None:
    if sys.platform != "win32":
        raise OSError("the Run key exists only on Windows")
    import winreg

    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if value is None:
            try:
                winreg.DeleteValue(key, RUN_VALUE)
            except FileNotFoundError:
                pass
        else:
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, value)


def _read_run_key() -> str | None:
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            value, _ = winreg.QueryValueEx(key, RUN_VALUE)
            return str(value)
    except FileNotFoundError:
        return None
