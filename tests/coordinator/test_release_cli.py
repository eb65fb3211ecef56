"""`release set|show`: the host announces the newest app version; nodes get it with heartbeats."""

import asyncio

from coordinator_service.api.app import create_app
from coordinator_service.api.state import context
from coordinator_service.cli import main
from coordinator_service.config import Settings
from coordinator_service.services.heartbeats import load_catalog
from tests.fixtures.coordinator import make_database


def test_release_set_is_shown_and_reaches_the_heartbeat_catalog(tmp_path, capsys):
    data = ["--data-dir", str(make_database(tmp_path))]
    assert main(["release", "show", *data]) == 0
    assert "no release announced" in capsys.readouterr().out

    assert main(["release", "set", "0.2.0", "--url", "https://example.org/dl", *data]) == 0
    assert main(["release", "show", *data]) == 0
    assert "version 0.2.0: https://example.org/dl" in capsys.readouterr().out

    async def catalog():
        app = create_app(Settings(data_dir=tmp_path))
        async with app.router.lifespan_context(app):
            async with context(app).db.session() as session:
                return await load_catalog(session)

    found = asyncio.run(catalog())
    assert (found.latest_version, found.download_url) == ("0.2.0", "https://example.org/dl")


def test_release_set_refuses_a_url_that_is_not_http_in_one_line(tmp_path, capsys):
    data_dir = str(make_database(tmp_path))
    code = main(["release", "set", "0.2.0", "--url", "ftp://example.org/x", "--data-dir", data_dir])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("streamr-coordinator: error: download_url:") and "\n" not in err
