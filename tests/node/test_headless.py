"""`streamr-node --headless` against a real coordinator: join, relay, heartbeats, errors."""

import socket
import sqlite3
import stat
import subprocess
import sys
import time

import httpx
import m3u8
import pytest

from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.net import free_port
from tests.fixtures.node import REPO_ROOT, node_command, node_env, run_node
from tests.fixtures.origin import origin_process

pytestmark = pytest.mark.slow


def wait_for(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout} s")


def relayed_segments(node, stream: str = "demo") -> int:
    response = httpx.get(f"{node.relay_url}/live/{stream}.m3u8", timeout=5)
    return len(m3u8.loads(response.text).segments) if response.status_code == 200 else 0


def run_once(tmp_path, invite: str | None, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        node_command(invite, tmp_path / "once", *flags),
        capture_output=True,
        text=True,
        env=node_env(),
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    """Exit 1, one `streamr-node: error:` line carrying `text`, no traceback."""
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("streamr-node: error: "), result.stderr
    assert text in errors[0].lower(), errors
    assert "Traceback" not in result.stderr + result.stdout


def test_join_relay_heartbeat_and_restart_without_invite(tmp_path) -> None:
    with (
        origin_process(tmp_path, "demo", flags=("--no-srs-master",)) as origins,
        run_coordinator(tmp_path, "--heartbeat-interval", "1") as coord,
    ):
        coord.cli("stream", "add", "demo", "--origin", origins["demo"], "--pool-per-hour", "36")
        invite = coord.invite()
        with run_node(tmp_path, invite, "--name", "Alice", "--upload-cap", "50") as node:
            wait_for(lambda: relayed_segments(node) >= 2, what="node relays demo")
            identity = node.data_dir / "identity.json"
            assert stat.S_IMODE(identity.stat().st_mode) == 0o600
            assert stat.S_IMODE(node.data_dir.stat().st_mode) == 0o700
            status = wait_for(
                lambda: (s := node.status())["last_heartbeat_at"] and s["streams"] and s,
                what="status shows a heartbeat",
            )
            assert status["coordinator_reachable"] is True
            assert status["display_name"] == "Alice"
            assert status["streams"][0]["name"] == "demo" and status["streams"][0]["live"]
            page = httpx.get(node.status_url + "/", timeout=5)
            assert "Alice" in page.text and page.headers["content-type"].startswith("text/html")
            node_id = status["node_id"]
            nodes = coord.admin_get("/api/v1/admin/nodes")
            assert any(n["node_id"] == node_id for n in nodes)
            assert node.stop() == 0
            assert "stopped" in node.log()
        with run_node(tmp_path, None) as again:  # remembered: no invite needed
            wait_for(lambda: relayed_segments(again) >= 1, what="restarted node relays")
            assert again.status()["node_id"] == node_id


def test_bad_used_expired_invites_and_taken_port_are_one_line_errors(tmp_path) -> None:
    with run_coordinator(tmp_path, "--heartbeat-interval", "1") as coord:
        bad = run_once(tmp_path, f"{coord.url}/join/{'x' * 24}")
        assert_one_line_error(bad, "invite was refused")

        link = coord.invite("--uses", "1")
        with run_node(tmp_path, link) as first:
            first.wait_log("joined")
        used = run_once(tmp_path / "second", link)
        assert_one_line_error(used, "invite was refused")

        expired = coord.invite("--expires", "1m")
        with sqlite3.connect(coord.data_dir / "coordinator.db") as db:  # a minute later
            db.execute("UPDATE invites SET expires_at = '2000-01-01 00:00:00.000000'")
        late = run_once(tmp_path / "third", expired)
        assert_one_line_error(late, "expired")

        garbled = run_once(tmp_path / "fourth", "ftp://nowhere")
        assert_one_line_error(garbled, "bad invite link")

        with socket.socket() as taken:  # an unusable port: non-zero exit, one clear line
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = run_once(tmp_path / "fifth", coord.invite(), "--relay-port", str(port))
            assert_one_line_error(result, f"relay port {port}")


def test_bad_flags_exit_2_with_the_flag_named(tmp_path) -> None:
    bad = run_once(tmp_path, None, "--upload-cap", "-3")
    assert bad.returncode == 2 and "--upload-cap" in bad.stderr
    assert "Traceback" not in bad.stderr
    bad = run_once(tmp_path, None, "--public-url", "ftp://x")
    assert bad.returncode == 2 and "--public-url" in bad.stderr


def test_heartbeats_resume_after_coordinator_outage(tmp_path) -> None:
    port = free_port()
    with origin_process(tmp_path, "demo", flags=("--no-srs-master",)) as origins:
        with run_coordinator(tmp_path, "--port", str(port), "--heartbeat-interval", "1") as coord:
            coord.cli("stream", "add", "demo", "--origin", origins["demo"], "--pool-per-hour", "1")
            invite = coord.invite()
        node_cm = None
        with run_coordinator(tmp_path, "--port", str(port), "--heartbeat-interval", "1") as coord:
            node_cm = run_node(tmp_path, invite)
            node = node_cm.__enter__()
            wait_for(lambda: relayed_segments(node) >= 1, timeout=60, what="node relays")
        try:
            # the coordinator is down now: the node keeps relaying and retries
            node.wait_log("retrying with backoff")
            wait_for(lambda: relayed_segments(node) >= 2, what="relaying during outage")
            assert node.status()["coordinator_reachable"] is False
            with run_coordinator(tmp_path, "--port", str(port), "--heartbeat-interval", "1"):
                wait_for(lambda: node.status()["coordinator_reachable"], what="heartbeats resume")
                node.wait_log("coordinator reachable")
                before = node.status()["last_heartbeat_at"]
                wait_for(lambda: node.status()["last_heartbeat_at"] != before, what="next beat")
        finally:
            node_cm.__exit__(None, None, None)


def test_banned_node_stops_and_says_so(tmp_path) -> None:
    with run_coordinator(tmp_path, "--heartbeat-interval", "1") as coord:
        with run_node(tmp_path, coord.invite()) as node:
            node_id = wait_for(lambda: node.status()["node_id"], what="joined")
            coord.cli("nodes", "ban", node_id)
            node.process.wait(timeout=30)
            assert node.process.returncode == 1
            assert "banned" in node.log()


def test_gui_mode_without_a_loadable_qt_suggests_headless(tmp_path) -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"  # as when PySide6 cannot load
        "from desktop_app.app import main\n"
        f"raise SystemExit(main(['--data-dir', {str(tmp_path)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=node_env(),
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "--headless" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_friend_who_quits_the_app_is_not_flagged(tmp_path) -> None:
    """Seen in CI: an honest node stopped mid-stream was flagged by the refused probes that
    followed (probe every 0.5 s, silence only noticed after 2 s), and left the leaderboard."""
    with (
        origin_process(tmp_path, "demo", flags=("--no-srs-master",)) as origins,
        run_coordinator(
            tmp_path,
            "--heartbeat-interval",
            "1",
            "--probe-interval",
            "0.3",
            "--allow-private-relays",
        ) as coord,
    ):
        coord.cli("stream", "add", "demo", "--origin", origins["demo"], "--pool-per-hour", "36")
        with run_node(tmp_path, coord.invite(), "--name", "Quitter") as node:
            node_id = wait_for(lambda: node.status()["node_id"], what="node joined")

            def state() -> str:
                row = next(
                    n for n in coord.admin_get("/api/v1/admin/nodes") if n["node_id"] == node_id
                )
                return str(row["state"])

            wait_for(lambda: state() == "healthy", timeout=40, what="node healthy")
            assert node.stop() == 0
        time.sleep(4)  # many probe cycles while the coordinator learns the node is gone
        row = next(n for n in coord.admin_get("/api/v1/admin/nodes") if n["node_id"] == node_id)
        assert row["state"] != "flagged", row
        assert row["reputation"] >= 0.99, row
