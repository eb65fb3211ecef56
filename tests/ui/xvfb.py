"""A virtual X display with a system tray (Xvfb + Debian's trayer), for tests that need real X."""

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["app_env", "have_xvfb", "xvfb_with_tray"]


def have_xvfb() -> bool:
    """Whether Xvfb and trayer are installed."""
    return bool(shutil.which("Xvfb") and shutil.which("trayer"))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextmanager
def xvfb_with_tray(size: str = "1280x800x24") -> Iterator[str]:
    """Start Xvfb on a free display and trayer on it; yield the DISPLAY value; stop both."""
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    trayer: subprocess.Popen[bytes] | None = None
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        display = f":{number}"
        env = os.environ | {"DISPLAY": display}
        trayer = subprocess.Popen(
            [
                "trayer",
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "pixel",
                "--width",
                "160",
                "--height",
                "32",
                "--transparent",
                "false",
                "--tint",
                "0x2b2b2b",
                "--SetDockType",
                "true",
                "--expand",
                "false",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)  # trayer claims the tray selection right after it maps its window
        yield display
    finally:
        if trayer is not None:
            _stop(trayer)
        _stop(xvfb)


def app_env(display: str, home: Path) -> dict[str, str]:
    """Environment for the real app on `display`: its own HOME, the repository importable,
    the relay on loopback, status page on a free port, no STREAMR_/XDG_ leaks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMR_", "XDG_"))}
    return env | {
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "STREAMR_NODE_RELAY_HOST": "127.0.0.1",
        "STREAMR_NODE_STATUS_PORT": "0",
    }
