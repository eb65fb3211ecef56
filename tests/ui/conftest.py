"""Fixtures of the tray app's tests: a model wired to a bridge, isolated settings folders."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.ui.bridge import NodeBridge
from desktop_app.ui.history import History
from desktop_app.ui.model import NodeModel


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
