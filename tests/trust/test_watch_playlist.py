"""The watch playlist (content steering pathways) and its steering manifest through the real app."""

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import m3u8
import pytest

from coordinator_service.api.app import create_app
from coordinator_service.config import Settings
from coordinator_service.prober.origin import StreamIndex
from coordinator_service.prober.steering import REPORT_TOKEN_DATA_ID
from coordinator_service.prober.viewer_reports import verify_report_token
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import Node, Probe, Stream, UptimeInterval
from streamr_protocol.hls import Variant
from tests.coordinator.conftest import without_prober
from tests.trust.conftest import Api

ORIGIN_URL = "http://origin.test/live/main.m3u8"


def relay_url(number: int, scheme: str = "http") -> str:
    return f"{scheme}://198.51.100.{number}:{8000 + number}"


async def relaying(api: Api, first: int = 1, **kinds: str) -> dict[str, str]:
    """Register one node per name at relay_url(first), relay_url(first + 1)…; `kinds[name]`
    ("ok", "flagged", "silent", "full", "failing", "https") says how it looks now.
    Return {name: node id}."""
    ids = {}
    for number, (name, kind) in enumerate(kinds.items(), start=first):
        scheme = "https" if kind == "https" else "http"
        reg = await api.register(display_name=name, relay_url=relay_url(number, scheme))
        ids[name] = reg["node_id"]
    now = utcnow()
    async with api.ctx.db.transaction() as session:
        sid = (await session.execute(Stream.__table__.select())).first().id
        for name, kind in kinds.items():
            node = await session.get(Node, ids[name])
            node.last_heartbeat_at = now - timedelta(hours=1) if kind == "silent" else now
            node.flagged = kind == "flagged"
            node.capacity_kbit = 10_000
            # full: 5 slots, 6 viewers reported (one of them the probe below, which is not counted)
            node.viewers = 6 if kind == "full" else 0
            node.next_probe_at = now + timedelta(hours=1)  # the app's prober leaves them be
            session.add(
                UptimeInterval(
                    node_id=node.id,
                    stream_id=sid,
                    started_at=now - timedelta(minutes=1),
                    ended_at=now,
                )
            )
            # probed at the URL it holds (unprobed relays get no viewers); "failing" failed since
            passed_at = now - timedelta(seconds=1) if kind == "failing" else now
            session.add(
                Probe(node_id=node.id, at=passed_at, ok=True, reason="ok", relay_url=node.relay_url)
            )
            if kind == "failing":
                session.add(Probe(node_id=node.id, at=now, ok=False, reason="timeout"))
        await session.commit()
    await api.publish("main")  # SRS's on_publish hook: the stream is live
    return ids


async def playlist(api: Api, query: str = "") -> m3u8.M3U8:
    response = await api.client.get("/watch/main.m3u8" + query)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert response.headers["cache-control"] == "no-store"
    return m3u8.loads(response.text, uri="http://coord.test/watch/main.m3u8")


def pathways(parsed: m3u8.M3U8) -> list[str]:
    return list(dict.fromkeys(p.stream_info.pathway_id for p in parsed.playlists))


async def test_playlist_offers_only_eligible_relays_then_the_origin(api: Api):
    await api.create_stream("main", origin_url=ORIGIN_URL)
    only_origin = await playlist(api)
    assert pathways(only_origin) == ["origin"]
    assert [p.uri for p in only_origin.playlists] == [ORIGIN_URL]
    ids = await relaying(
        api,
        a="ok",
        b="ok",
        c="ok",
        d="ok",
        bad="flagged",
        gone="silent",
        full="full",
        dead="failing",
    )
    healthy = {ids[n] for n in "abcd"}
    urls = {ids[n]: relay_url(number) for number, n in enumerate("abcd", start=1)}
    firsts: Counter[str] = Counter()
    for _ in range(40):
        parsed = await playlist(api)
        order = pathways(parsed)
        assert len(order) == 4 and order[-1] == "origin" and set(order[:3]) <= healthy
        assert parsed.content_steering.pathway_id == order[0]
        steering = urlsplit(parsed.content_steering.absolute_uri)
        assert steering.path == "/watch/main/steering.json"
        assert parse_qs(steering.query)["p"] == [",".join(order)]
        # redundant variants in pathway order; each relay's URL is its playlist of the stream
        assert [p.uri for p in parsed.playlists] == [
            *(f"{urls[n]}/live/main.m3u8" for n in order[:3]),
            ORIGIN_URL,
        ]
        firsts[order[0]] += 1
    assert set(firsts) == healthy  # every healthy relay comes first for someone
    token = next(d.value for d in parsed.session_data if d.data_id == REPORT_TOKEN_DATA_ID)
    grant = verify_report_token(api.ctx.report_secret, token, utcnow())
    assert grant is not None and grant.stream == "main"
    assert set(grant.node_ids) == set(pathways(parsed)[:3])
    seen = api.ctx.metrics.audience.streams()["main"]
    assert (seen.playlists, seen.origin_only) == (41, 1)


@pytest.fixture
async def api_without_prober(settings: Settings) -> AsyncIterator[Api]:
    """An app whose origin indexes only the test sets: no prober polls the unreachable
    origin.test meanwhile (a poll that fails clears the index's variants; seen in CI)."""
    application = without_prober(create_app(settings))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://coord.test") as client:
            yield Api(application, client)


async def test_variants_come_from_the_origin_index_and_relays_lay_them_out(
    api_without_prober: Api,
):
    api = api_without_prober
    await api.create_stream("main", origin_url=ORIGIN_URL)
    ids = await relaying(api, a="ok")
    ladder = (
        Variant("http://origin.test/live/main_0.m3u8", 400_000, resolution=(320, 180)),
        Variant("http://origin.test/live/main_1.m3u8", 150_000, resolution=(160, 90)),
    )
    api.ctx.origins["main"] = StreamIndex("main", variants=ladder)
    parsed = await playlist(api)
    assert [
        (p.stream_info.pathway_id, p.stream_info.bandwidth, p.uri) for p in parsed.playlists
    ] == [
        (ids["a"], 400_000, "http://198.51.100.1:8001/live/main/0.m3u8"),
        (ids["a"], 150_000, "http://198.51.100.1:8001/live/main/1.m3u8"),
        ("origin", 400_000, "http://origin.test/live/main_0.m3u8"),
        ("origin", 150_000, "http://origin.test/live/main_1.m3u8"),
    ]
    # SRS 6's one-variant master (BANDWIDTH=1, hls_ctx): one rendition, a sane bandwidth
    srs = (Variant("http://origin.test/live/main.m3u8?hls_ctx=abc", 1),)
    api.ctx.origins["main"] = StreamIndex("main", variants=srs)
    parsed = await playlist(api)
    assert [(p.stream_info.bandwidth, p.uri) for p in parsed.playlists] == [
        (2_000_000, "http://198.51.100.1:8001/live/main.m3u8"),
        (2_000_000, "http://origin.test/live/main.m3u8?hls_ctx=abc"),
    ]


async def test_secure_viewers_get_https_pathways_only(api: Api):
    await api.create_stream("main", origin_url=ORIGIN_URL)
    refused = await api.client.get("/watch/main.m3u8?secure=1")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "no_https_pathway"
    assert "http://" in refused.json()["error"]["message"]
    ids = await relaying(api, plain="ok", tls="https")
    parsed = await playlist(api, "?secure=1")
    assert pathways(parsed) == [ids["tls"]]
    assert parsed.playlists[0].uri == "https://198.51.100.2:8002/live/main.m3u8"
    assert "secure=1" in parsed.content_steering.uri
    assert set(pathways(await playlist(api))) == {ids["plain"], ids["tls"], "origin"}


async def test_steering_reranks_as_relays_go_and_clones_in_new_ones(api: Api):
    await api.create_stream("main", origin_url=ORIGIN_URL)
    ids = await relaying(api, a="ok", b="ok", c="ok")
    parsed = await playlist(api)
    order = pathways(parsed)
    steering_uri = parsed.content_steering.uri
    response = await api.client.get(steering_uri + f"&_HLS_pathway={order[0]}&_HLS_throughput=1")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    manifest = response.json()
    assert manifest["VERSION"] == 1 and 0 < manifest["TTL"] <= 15
    assert manifest["PATHWAY-PRIORITY"] == order
    assert "PATHWAY-CLONES" not in manifest

    # the viewer's first relay goes silent; a fourth relay appears: it is cloned in
    now = utcnow()
    fresh = await relaying(api, first=4, d="ok")
    async with api.ctx.db.transaction() as session:
        (await session.get(Node, order[0])).last_heartbeat_at = now - timedelta(hours=1)
        await session.commit()
    manifest = (await api.client.get(manifest["RELOAD-URI"] + "&_HLS_pathway=origin")).json()
    assert manifest["PATHWAY-PRIORITY"] == [*order[1:3], fresh["d"], "origin"]
    assert manifest["PATHWAY-CLONES"] == [
        {
            "BASE-ID": order[0],
            "ID": fresh["d"],
            "URI-REPLACEMENT": {"PER-VARIANT-URIS": {"v0": f"{relay_url(4)}/live/main.m3u8"}},
        }
    ]
    reload = parse_qs(urlsplit(manifest["RELOAD-URI"]).query)
    assert reload["p"] == [",".join([*order[:3], fresh["d"], "origin"])]
    assert set(order[:3]) == set(ids.values())

    # the viewer said it is on the origin now (it had been on a relay): counted
    seen = api.ctx.metrics.audience.streams()["main"]
    assert (seen.on_relays, seen.on_origin, seen.fell_back) == (0, 1, 1)
    metrics = (await api.client.get("/metrics")).text
    assert 'streamr_watch_viewers{pathway="origin",stream="main"} 1.0' in metrics
    assert 'streamr_watch_fell_back_to_origin_total{stream="main"} 1.0' in metrics


async def test_a_viewer_that_started_on_the_origin_gets_relays_cloned_in(api: Api):
    await api.create_stream("main", origin_url=ORIGIN_URL)
    parsed = await playlist(api)
    assert pathways(parsed) == ["origin"]
    ids = await relaying(api, a="ok")
    manifest = (await api.client.get(parsed.content_steering.uri + "&_HLS_pathway=origin")).json()
    assert manifest["PATHWAY-PRIORITY"] == [ids["a"], "origin"]
    assert manifest["PATHWAY-CLONES"] == [
        {
            "BASE-ID": "origin",
            "ID": ids["a"],
            "URI-REPLACEMENT": {"PER-VARIANT-URIS": {"v0": f"{relay_url(1)}/live/main.m3u8"}},
        }
    ]
    # the next reload knows the clone: nothing more to clone, the relay stays first
    again = (await api.client.get(manifest["RELOAD-URI"] + f"&_HLS_pathway={ids['a']}")).json()
    assert again["PATHWAY-PRIORITY"] == [ids["a"], "origin"] and "PATHWAY-CLONES" not in again
    assert api.ctx.metrics.audience.streams()["main"].on_relays == 1


async def test_players_without_steering_get_the_first_pathway_only(api: Api):
    await api.create_stream("main", origin_url=ORIGIN_URL)
    await relaying(api, a="ok", b="ok")
    for agent in ("Lavf/60.16.100", "VLC/3.0.21 LibVLC/3.0.21", "libmpv"):
        response = await api.client.get("/watch/main.m3u8", headers={"User-Agent": agent})
        parsed = m3u8.loads(response.text)
        assert len(pathways(parsed)) == 1 and pathways(parsed) != ["origin"], agent
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"}
    parsed = m3u8.loads((await api.client.get("/watch/main.m3u8", headers=browser)).text)
    assert len(pathways(parsed)) == 3
