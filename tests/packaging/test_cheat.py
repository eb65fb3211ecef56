"""The cheat switch of the demo's dishonest nodes (coordinator_service/demo/cheat.py)."""

import hashlib
import subprocess
import sys
from pathlib import Path

from coordinator_service.demo.cheat import corrupt_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_corrupt_bytes_changes_the_hash_but_keeps_ts_sync_bytes():
    packet = b"\x47" + bytes(range(187))
    data = packet * 20
    bad = corrupt_bytes(data)
    assert len(bad) == len(data)
    assert hashlib.sha256(bad).digest() != hashlib.sha256(data).digest()
    assert all(bad[i] == 0x47 for i in range(0, len(bad), 188))
    assert corrupt_bytes(b"short") != b"short"
    assert corrupt_bytes(b"") != b""


def test_cheat_entry_refuses_an_unknown_mode_with_usage():
    result = subprocess.run(
        [sys.executable, "-m", "coordinator_service.demo.cheat", "generous", "--headless"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "usage: python -m coordinator_service.demo.cheat {stale,corrupt}" in result.stderr


def test_cheat_mode_is_not_a_flag_of_the_node_cli():
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert "cheat" not in result.stdout.lower()
