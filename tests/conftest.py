"""Suite-wide settings: Qt offscreen, artifacts folder, the run's PostgreSQL database."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.postgres import fresh_postgres_or_skip

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Folder for screenshots and other artifacts the suite keeps (see README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This run's PostgreSQL database (tests/fixtures/postgres.py); dropped afterwards."""
    with fresh_postgres_or_skip() as url:
        yield url
