"""A full disk under the data dir: clear errors, no corruption, recovery once space is back.

The data dir lives on a tmpfs of a few MB mounted by the test (root needed; skipped loudly
otherwise); a filler file takes the last byte while nodes beat, join and the host works.
"""

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.coordinator import REPO_ROOT, _stop, _wait_ready, coordinator_env
from tests.fixtures.net import free_port
from tests.fixtures.replicas import start_serve
from tests.reliability.conftest import beat, register
from tests.reliability.integrity import check_integrity, uptime

pytestmark = pytest.mark.slow

ENV = {
    "STREAMR_RATE_LIMIT_NODE": "100000/minute",
    "STREAMR_RATE_LIMIT_IP": "100000/minute",
    "STREAMR_RATE_LIMIT_REGISTER": "100000/minute",
}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MB tmpfs at tmp_path/disk, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"!!! cannot mount a small tmpfs ({done.stderr.strip()}): disk-full SKIPPED")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> int:
    """Write zeros to `path` until the disk refuses; return the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as filler:
        while True:
            try:
                written += filler.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        with contextlib.suppress(OSError):
            while filler.write(b"\0"):  # the last few bytes
                written += 1
    return written


def test_full_disk_gives_clear_errors_then_recovers_without_corruption(small_disk: Path) -> None:
    data_dir = small_disk / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite+aiosqlite:///{data_dir / 'coordinator.db'}"
    log_path = small_disk.parent / "serve.log"
    process = start_serve(data_dir, log_path, "--port", str(port), env=ENV)
    try:
        _wait_ready(process, log_path, 60)
        admin = {"Authorization": f"Bearer {(data_dir / 'admin-token').read_text().strip()}"}
        with httpx.Client(timeout=20) as client:
            made = client.post(f"{url}/api/v1/admin/invites", json={"uses": 100}, headers=admin)
            code = made.json()["code"]
            nodes = [register(client, url, code, f"n{i}") for i in range(5)]
            for node in nodes:
                assert beat(client, url, node).status_code == 200

            assert _fill(small_disk / "filler") > 0
            answers = []
            for round_ in range(30):  # enough writes to need new pages in the WAL
                for node in nodes:
                    answers.append(beat(client, url, node))
                try:
                    register(client, url, code, f"late{round_}")
                except AssertionError:
                    pass
                answers.append(client.post(f"{url}/api/v1/admin/invites", json={}, headers=admin))
            refused = [a for a in answers if a.status_code >= 400]
            assert refused, "nothing was refused on a full disk"
            for answer in refused:
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["code"] == "storage_full", answer.text
                message = answer.json()["error"]["message"]
                assert "\n" not in message and "Traceback" not in answer.text
            assert process.poll() is None, "the coordinator died of a full disk"

            (small_disk / "filler").unlink()
            for node in nodes:
                assert beat(client, url, node).status_code == 200
            later = register(client, url, code, "after")
            assert beat(client, url, later).status_code == 200
    finally:
        _stop(process)
    assert "Traceback" not in log_path.read_text()
    check_integrity(database_url)
    spans = uptime(database_url)
    for node in nodes:
        for at in node.acked:
            naive = at.replace(tzinfo=None)
            assert any(s <= naive <= e for s, e in spans[node.node_id]), "acknowledged beat lost"


def test_serve_on_a_full_disk_exits_with_one_clear_line(small_disk: Path) -> None:
    _fill(small_disk / "filler")
    done = subprocess.run(
        [sys.executable, "-m", "coordinator_service", "serve", "--port", "0"]
        + ["--data-dir", str(small_disk / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        env=coordinator_env(),
        cwd=REPO_ROOT,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("streamr-coordinator: error:"), done.stderr
    assert "space" in last.lower() or "full" in last.lower(), last
    assert os.path.exists(small_disk)
