"""Child processes of the demo: each in its own process group, logged to a file, stopped whole."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["Child", "ChildExited", "stop_all"]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class ChildExited(RuntimeError):
    """A child process ended on its own; the message names it and quotes its log's last lines."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Ask Linux to SIGTERM this child if the demo dies without cleaning up (e.g. SIGKILL)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """One child process in a new session (its own process group), output to `log_path`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        logger.debug("started %s (pid %d): %s", name, self.process.pid, " ".join(self.argv))

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        """Return the last lines of the child's log (for error messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def check(self) -> None:
        """Raise ChildExited if the process has ended."""
        code = self.process.poll()
        if code is not None:
            tail = self.log_tail()
            detail = f"\n{tail}" if tail else ""
            raise ChildExited(
                f"{self.name} stopped (exit code {code}); its log is {self.log_path}{detail}"
            )

    def signal_group(self, sig: signal.Signals) -> None:
        """Send a signal to the child's whole process group (ffmpeg under the origin, too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def group_alive(self) -> bool:
        """Tell whether any process of the child's group is still there."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def stop_all(children: Sequence[Child], timeout: float = 10.0) -> None:
    """SIGTERM every child's group, wait up to `timeout` s, then SIGKILL what is left; reap all."""
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.process.wait(remaining)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", child.name)
    for child in children:
        # Whatever is left in the group (a grandchild that ignored SIGTERM) goes now.
        while child.group_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if child.group_alive() or child.running():
            child.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(5)
