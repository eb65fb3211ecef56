"""Suite-wide settings: Qt offscreen, artifacts folder."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Folder for screenshots and other artifacts the suite keeps (see README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
