"""Public pages: the watch page, who relays a stream, and thanks to its supporters."""

import re

from sqlalchemy import update

from coordinator_service.app_state import lookup
from coordinator_service.dashboard.env import DashboardEnv
from coordinator_service.dashboard.routes.public import hls_vendored
from coordinator_service.storage.models import Node
from tests.dashboard.conftest import Dash
from tests.dashboard.seed import seed


async def _seeded(dash: Dash, nodes: int = 8) -> None:
    async with dash.db() as db:
        await seed(db, nodes=nodes)


async def test_watch_page_needs_no_sign_in_and_plays_through_the_redirect(dash: Dash) -> None:
    await _seeded(dash)
    page = await dash.client.get("/watch/main")
    assert page.status_code == 200
    assert 'data-src="/watch/main.m3u8"' in page.text
    assert '<script src="/dashboard/static/watch.js" defer></script>' in page.text
    csp = page.headers["content-security-policy"]
    assert "media-src 'self' blob: http: https:" in csp and "frame-ancestors 'none'" in csp
    assert ("/dashboard/static/vendor/hls.min.js" in page.text) == hls_vendored()


async def test_watch_page_thanks_named_supporters_but_not_anonymous_ones(dash: Dash) -> None:
    await _seeded(dash, nodes=8)
    async with dash.db() as db:
        await db.execute(update(Node).where(Node.id == "n00000").values(anonymous=True))
        await db.commit()
    page = await dash.client.get("/watch/main")
    # of 8 nodes 3 (flagged), 5 (silent) and 7 (banned) are left out; 0 is counted, not named
    thanks = "Thanks to Friend 0001, Friend 0002, Friend 0004, Friend 0006 and 1 more friend,"
    assert thanks in page.text
    assert "Friend 0000" not in page.text


async def test_unknown_or_malformed_stream_is_a_404_page(dash: Dash) -> None:
    await _seeded(dash)
    for path in ("/watch/nope", "/watch/bad%20name", "/watch/main.m3u8x"):
        response = await dash.client.get(path)
        assert response.status_code == 404
        assert "No such stream" in response.text


async def test_node_endpoint_names_the_relay_a_playlist_url_belongs_to(dash: Dash) -> None:
    await _seeded(dash)
    url = "/api/v1/watch/main/node"
    named = await dash.client.get(url, params={"url": "http://127.0.0.1:20002/live/main.m3u8"})
    assert named.json() == {"stream": "main", "relayed_by": "Friend 0002", "origin": False}
    origin = await dash.client.get(url, params={"url": "http://127.0.0.1:9/live/main.m3u8?x=1"})
    assert origin.json() == {"stream": "main", "relayed_by": None, "origin": True}
    other = await dash.client.get(url, params={"url": "http://127.0.0.1:20002x/live/main.m3u8"})
    assert other.json()["relayed_by"] is None
    banned = await dash.client.get(url, params={"url": "http://127.0.0.1:20007/live/main.m3u8"})
    assert banned.json()["relayed_by"] is None
    missing = await dash.client.get("/api/v1/watch/nope/node")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_stream"


async def test_watch_page_playlist_and_relay_redirect_share_the_watch_path(dash: Dash) -> None:
    await _seeded(dash)
    playlist = await dash.client.get("/watch/main.m3u8")
    assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
    redirect = await dash.client.get("/watch/main/relay.m3u8")
    assert redirect.status_code == 302
    assert redirect.headers["location"].endswith(".m3u8")
    page = await dash.client.get("/watch/main")
    assert page.status_code == 200 and "<video" in page.text


async def test_leaderboard_page_ranks_each_streams_supporters_without_sign_in(dash: Dash) -> None:
    await _seeded(dash, nodes=6)
    page = await dash.client.get("/leaderboard")
    assert page.status_code == 200
    ranked = re.findall(r'<td class="num">(\d+)</td><th scope="row">([^<]+)</th>', page.text)
    assert [rank for rank, _ in ranked] == [str(i) for i in range(1, len(ranked) + 1)]
    assert "Friend 0001" in {name for _, name in ranked}
    pool = re.search(r"pool so far ([0-9.]+) USD", page.text)
    assert pool and float(pool.group(1)) > 0
    assert 'href="/watch/main"' in page.text


async def test_a_flagged_node_is_left_off_the_public_leaderboards(dash: Dash) -> None:
    await _seeded(dash, nodes=6)  # Friend 0003 is flagged (and credited for part of the day)

    async def names() -> tuple[set[str], set[str]]:
        page = (await dash.client.get("/leaderboard")).text
        rows = re.findall(r'<td class="num">(\d+)</td><th scope="row">([^<]+)</th>', page)
        shown = {name for _, name in rows}
        api = (await dash.client.get("/api/v1/leaderboard")).json()["entries"]
        return shown, {entry["display_name"] for entry in api}

    page, api = await names()
    assert "Friend 0003" not in page | api and "Friend 0001" in page & api
    async with dash.db() as db:
        await db.execute(update(Node).where(Node.id == "n00003").values(flagged=False))
        await db.commit()
    lookup(dash.app, DashboardEnv).board.clear()  # the page's board is kept a few seconds
    page, api = await names()
    assert "Friend 0003" in page and "Friend 0003" in api  # the same node, no longer flagged
