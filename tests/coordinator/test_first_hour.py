"""A new host's first commands: each trap of the first hour, now said in one clear line."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web

from coordinator_service.cli import main
from coordinator_service.entry import main as entry_main
from tests.fixtures.coordinator import REPO_ROOT, coordinator_env, make_database, run_coordinator
from tests.fixtures.net import free_port


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_admin_commands_never_create_a_database(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "not-the-data-dir"
    for args in (("nodes", "list"), ("stream", "list"), ("invite", "create")):
        code, out, err = run(capsys, *args, "--data-dir", str(empty))
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and "no coordinator database at" in err
        assert "--data-dir" in err and "serve" in err
    assert not empty.exists()


def test_stream_add_checks_currency_and_origin_and_streams_can_be_paused_and_removed(
    tmp_path: Path, capsys
) -> None:
    data = ["--data-dir", str(make_database(tmp_path / "data"))]
    code, out, err = run(
        capsys, "stream", "add", "x", "--origin", "http://127.0.0.1:1/live/x.m3u8",
        "--pool-per-hour", "1", "--currency", "XYZ", *data,
    )  # fmt: skip
    assert code == 2 and "not an ISO 4217" in err and out == ""
    dead = f"http://127.0.0.1:{free_port()}/live/show.m3u8"
    code, out, err = run(
        capsys, "stream", "add", "show", "--origin", dead, "--pool-per-hour", "1.234",
        "--currency", "KWD", *data,
    )  # fmt: skip
    assert code == 0 and "pool 1.234 KWD per hour" in out
    assert "warning: the origin does not answer" in err and "added anyway" in err
    assert err.count("\n") == 1
    code, out, _ = run(capsys, "stream", "pause", "show", *data)
    assert code == 0 and "paused stream show" in out
    code, out, _ = run(capsys, "stream", "list", *data)
    assert "paused" in out
    code, out, _ = run(capsys, "stream", "resume", "show", *data)
    assert code == 0 and "resumed stream show" in out
    code, out, _ = run(capsys, "stream", "remove", "show", *data)
    assert code == 0 and "removed stream show" in out
    code, out, _ = run(capsys, "stream", "list", *data)
    assert "no streams yet" in out
    code, _, err = run(capsys, "stream", "remove", "show", *data)
    assert code == 1 and "no stream named 'show'" in err


async def test_stream_add_warns_when_the_origin_answers_404_or_not_hls(tmp_path: Path) -> None:
    from coordinator_service.services.origin_check import check_origin

    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>SRS</html>", content_type="text/html")

    async def playlist(request: web.Request) -> web.Response:
        return web.Response(text="#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\na.ts\n")

    app = web.Application()
    app.router.add_get("/404.m3u8", not_found)
    app.router.add_get("/html.m3u8", html)
    app.router.add_get("/ok.m3u8", playlist)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        base = f"http://127.0.0.1:{port}"
        assert await check_origin(f"{base}/404.m3u8") == "the origin answers HTTP 404"
        assert "does not send an HLS playlist" in str(await check_origin(f"{base}/html.m3u8"))
        assert await check_origin(f"{base}/ok.m3u8") is None
    finally:
        await runner.cleanup()


@pytest.mark.slow
def test_links_say_when_they_point_at_a_server_that_is_not_running(tmp_path: Path) -> None:
    with run_coordinator(tmp_path) as coord:
        # the origin watcher reads this "origin" every poll: no INFO line per HTTP request
        coord.cli("stream", "add", "x", "--origin", coord.url + "/healthz", "--pool-per-hour", "1")
        assert "dashboard: http://127.0.0.1:" in coord.log()
        assert "sign in: run `streamr-coordinator dashboard-link" in coord.log()
        alive = coord.cli("invite", "create")
        assert alive.returncode == 0 and "warning" not in alive.stderr
        assert alive.stdout.strip().splitlines()[-1].startswith(coord.url + "/join/")
        assert "alembic" not in alive.stderr  # no INFO lines of the migration tool
        deadline = time.monotonic() + 30
        while "origin of x sent a bad playlist" not in coord.log():  # the watcher has read it
            assert time.monotonic() < deadline, coord.log()[-2000:]
            time.sleep(0.2)
        assert "HTTP Request:" not in coord.log()
    # the server stopped: the stored address answers no more
    for args in (("invite", "create"), ("dashboard-link",)):
        dead = coord.cli(*args)
        assert dead.returncode == 0
        assert f"warning: nothing answers at {coord.url}" in dead.stderr
        assert dead.stdout.strip().splitlines()[-1].startswith(coord.url)


def test_version_on_both_commands() -> None:
    for module, name in (
        ("coordinator_service", "streamr-coordinator"),
        ("desktop_app", "streamr-node"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", module, "--version"],
            capture_output=True, text=True, env=coordinator_env(), cwd=REPO_ROOT, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0 and done.stdout.startswith(f"{name} 0."), done


def test_a_friends_install_says_which_extra_hosts_need() -> None:
    code = (
        "import sys\n"
        "sys.modules['sqlalchemy'] = None  # as in a [desktop]-only install\n"
        "from coordinator_service.entry import main\n"
        "sys.exit(main(['nodes', 'list']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, env=coordinator_env(), cwd=REPO_ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert "pip install 'streamrp2p[coordinator]'" in done.stderr
    assert "streamr-node" in done.stderr
    assert entry_main(["--version"]) == 0
