"""The admin CLI, run in-process on a SQLite data dir (and against a running serve: test_e2e)."""

import json
import os
import stat
import subprocess
import sys

import pytest

from coordinator_service.cli import main
from coordinator_service.cli_common import parse_duration
from coordinator_service.errors import ValidationError
from streamr_protocol.invite import parse_invite_link
from tests.fixtures.coordinator import REPO_ROOT, coordinator_env, make_database


@pytest.fixture
def cli(tmp_path, capsys):
    """Run the CLI on a fresh data dir; return (exit code, stdout, stderr)."""
    data = ["--data-dir", str(make_database(tmp_path / "data"))]

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main([*args, *data])
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_stream_add_then_list_shows_pool_in_major_units(cli):
    code, out, _ = cli(
        "stream",
        "add",
        "demo",
        "--origin",
        "http://o.test/live/demo.m3u8",
        "--pool-per-hour",
        "1.50",
    )
    assert code == 0 and "1.50 USD" in out
    code, out, _ = cli("stream", "list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {
            "name": "demo",
            "origin_url": "http://o.test/live/demo.m3u8",
            "pool_per_hour_minor": 150,
            "pool_per_hour": "1.50",
            "currency": "USD",
            "paused": False,
            "live": False,
        }
    ]
    code, out, _ = cli("stream", "list")
    assert "demo" in out and "1.50 USD" in out


def test_invite_create_prints_link_alone_on_last_line(cli):
    code, out, _ = cli("invite", "create", "--uses", "3", "--expires", "12h")
    assert code == 0
    link = parse_invite_link(out.strip().splitlines()[-1])
    assert link.coordinator_url == "http://127.0.0.1:8000" and len(link.code) >= 22
    code, out, _ = cli("invite", "list", "--json")
    (invite,) = json.loads(out)
    assert invite["max_uses"] == 3 and invite["state"] == "active"
    code, out, _ = cli("invite", "revoke", invite["id"])
    assert code == 0 and "revoked" in out
    _, out, _ = cli("invite", "list")
    assert "revoked" in out


def test_invite_link_uses_the_public_url_serve_stored(cli, tmp_path):
    code, out, _ = cli("invite", "create", "--public-url", "https://stream.example.org/")
    assert out.strip().splitlines()[-1].startswith("https://stream.example.org/join/")


def test_nodes_list_json_on_empty_database_is_an_empty_list(cli):
    code, out, _ = cli("nodes", "list", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli("nodes", "list")
    assert code == 0 and "no nodes yet" in out


def test_unknown_node_ban_is_a_one_line_error(cli):
    code, out, err = cli("nodes", "ban", "nope")
    assert code == 1
    assert err.strip() == "streamr-coordinator: error: no node with id 'nope'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["stream", "add", "bad name", "--origin", "http://o.test/x", "--pool-per-hour", "1"],
            "stream name 'bad name' is not allowed",
        ),
        (
            ["stream", "add", "ok", "--origin", "ftp://o.test/x", "--pool-per-hour", "1"],
            "must be an http(s) URL",
        ),
        (
            ["stream", "add", "ok", "--origin", "http://o.test/x", "--pool-per-hour", "1.234"],
            "more decimals than USD allows",
        ),
        (
            ["stream", "add", "ok", "--origin", "http://o.test/x", "--pool-per-hour", "lots"],
            "is not an amount",
        ),
        (["invite", "create", "--expires", "soon"], "is not a duration"),
        (["invite", "create", "--uses", "0"], "uses must be between"),
    ],
)
def test_bad_arguments_give_one_line_errors_with_exit_2(cli, args, message):
    code, _, err = cli(*args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_duplicate_stream_is_an_error_with_exit_1(cli):
    args = ["stream", "add", "demo", "--origin", "http://o.test/x", "--pool-per-hour", "1"]
    assert cli(*args)[0] == 0
    code, _, err = cli(*args)
    assert code == 1 and "already exists" in err


def test_usage_errors_exit_2(cli):
    code, _, err = cli("stream", "add", "demo")
    assert code == 2 and "--origin" in err


def test_durations_parse():
    assert parse_duration("7d").total_seconds() == 7 * 86400
    assert parse_duration("1d12h").total_seconds() == 36 * 3600
    assert parse_duration("30m").total_seconds() == 1800
    with pytest.raises(ValidationError):
        parse_duration("7x")


def test_data_dir_and_admin_token_are_private(tmp_path):
    """`serve` makes the data dir 0700 and the token 0600, and prints where, never the token."""
    from coordinator_service.services.admin_token import ensure_admin_token, ensure_data_dir

    data = tmp_path / "d"
    ensure_data_dir(data)
    token = ensure_admin_token(data / "admin-token")
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(data / "admin-token").st_mode) == 0o600
    assert ensure_admin_token(data / "admin-token") == token


@pytest.mark.parametrize("args", [[], ["stream"], ["invite", "create"], ["nodes"], ["serve"]])
def test_help_everywhere(args):
    result = subprocess.run(
        [sys.executable, "-m", "coordinator_service", *args, "--help"],
        capture_output=True,
        text=True,
        env=coordinator_env(),
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 0 and "usage:" in result.stdout
