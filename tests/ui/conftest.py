"""Fixtures of the tray app's tests: a model wired to a bridge, isolated settings folders."""

import asyncio
import gc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from desktop_app.ui.bridge import NodeBridge
from desktop_app.ui.history import History
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import QEventLoop


@pytest.fixture
def bridge(qtbot) -> NodeBridge:
    return NodeBridge()


@pytest.fixture
def model(bridge: NodeBridge, tmp_path: Path) -> NodeModel:
    model = NodeModel(History(tmp_path / "history.json"))
    model.observe(bridge)
    return model


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private HOME and XDG folders, so settings and autostart files land in tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    yield home


@pytest.fixture
def qloop(qapp) -> Iterator[QEventLoop]:
    """A qasync loop marked running inside pytest-qt's Qt loop, so asyncSlot tasks run in waits."""
    loop = QEventLoop(qapp, already_running=True)
    loop.set_default_executor(ThreadPoolExecutor(2))  # plain threads: no QObjects in workers
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        asyncio.events._set_running_loop(None)
        loop._QEventLoop__is_running = False  # qasync keeps "running" private
        loop.close()
        asyncio.set_event_loop(None)
        gc.collect()  # free Qt objects here, not in a worker thread's garbage collection
