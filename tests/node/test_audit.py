"""The node's peer audit: fetches like a player from its relay's address and reports honestly."""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from desktop_app.core.audit import Auditor, audit_once, player_client
from streamr_protocol.models import AuditAssignment

SEGMENTS = {f"s{i}.ts": bytes([i]) * (1000 + i) for i in range(5)}
MEDIA = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n" + "".join(
    f"#EXTINF:1.0,\nseg/{name}\n" for name in SEGMENTS
)
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nvariant.m3u8\n"


class Recorder:
    """A relay-like server on 127.0.0.1 that records who asked for what."""

    def __init__(self, trickle: bool = False) -> None:
        self.trickle = trickle
        self.requests: list[tuple[str, str, str, dict[str, str]]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            (request.remote or "", request.path, request.query_string, dict(request.headers))
        )
        name = request.match_info["name"]
        if name == "main.m3u8":
            return web.Response(text=MASTER, content_type="application/x-mpegurl")
        if name == "variant.m3u8":
            return web.Response(text=MEDIA, content_type="application/x-mpegurl")
        body = SEGMENTS.get(name)
        if body is None:
            raise web.HTTPNotFound()
        if not self.trickle:
            return web.Response(body=body, content_type="video/mp2t")
        response = web.StreamResponse()
        await response.prepare(request)
        for i in range(len(body)):
            await response.write(body[i : i + 1])
            await asyncio.sleep(0.05)
        return response

    async def __aenter__(self) -> "Recorder":
        app = web.Application()
        app.router.add_get("/live/{name}", self.handle)
        app.router.add_get("/live/seg/{name}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = int(self.runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_an_audit_reads_master_variant_and_a_recent_segment_from_the_relays_address():
    async with Recorder() as relay, player_client("127.0.0.3") as http:
        url = f"http://127.0.0.1:{relay.port}/live/main.m3u8"
        report = await audit_once(http, "a1", url)
    assert report.status == 200 and report.error == ""
    body = next(b for b in SEGMENTS.values() if hashlib.sha256(b).hexdigest() == report.sha256)
    assert report.bytes == len(body)
    assert body in list(SEGMENTS.values())[-3:]  # one of the newest three, as a player joins
    assert [path for _, path, _, _ in relay.requests][:2] == [
        "/live/main.m3u8",
        "/live/variant.m3u8",
    ]
    for remote, _, query, headers in relay.requests:
        assert remote == "127.0.0.3"
        assert query == ""
        assert headers["User-Agent"].startswith("Mozilla/5.0")
        assert not any(k.lower().startswith("x-streamr") for k in headers)


async def test_a_trickle_is_reported_with_its_status_as_a_timeout(monkeypatch):
    monkeypatch.setattr("desktop_app.core.audit.AUDIT_TIMEOUT_S", 1.0)
    async with Recorder(trickle=True) as relay, player_client(None) as http:
        report = await audit_once(http, "a2", f"http://127.0.0.1:{relay.port}/live/main.m3u8")
    assert (report.status, report.error, report.sha256) == (200, "timeout", "")
    assert 0 < report.bytes < 1000


@pytest.mark.parametrize(
    ("url", "status", "error"),
    [
        ("http://127.0.0.1:{port}/live/missing.ts.m3u8", 404, ""),
        ("http://127.0.0.1:1/x", 0, "refused"),
    ],
)
async def test_failures_are_reported_not_raised(url, status, error):
    async with Recorder() as relay, player_client(None) as http:
        report = await audit_once(http, "a3", url.format(port=relay.port))
    assert (report.status, report.error) == (status, error)


async def test_the_auditor_runs_each_assignment_once_and_posts_its_report():
    posted = []

    async def post(reports):
        posted.extend(reports)

    async with Recorder() as relay:
        auditor = Auditor(post, "127.0.0.2")
        assignment = AuditAssignment(
            id="x1",
            url=f"http://127.0.0.1:{relay.port}/live/main.m3u8",
            expires_at=datetime.now(UTC) + timedelta(seconds=30),
        )
        expired = assignment.model_copy(update={"id": "x2", "expires_at": datetime.now(UTC)})
        auditor.take([assignment, expired])
        auditor.take([assignment])
        for _ in range(100):
            if posted:
                break
            await asyncio.sleep(0.05)
        await auditor.aclose()
    assert [r.id for r in posted] == ["x1"] and posted[0].status == 200
    assert {remote for remote, *_ in relay.requests} == {"127.0.0.2"}


async def test_reports_finished_together_go_out_in_batches_and_none_is_lost():
    batches = []

    async def post(reports):
        batches.append([r.id for r in reports])

    async with Recorder() as relay:
        auditor = Auditor(post)
        url = f"http://127.0.0.1:{relay.port}/live/main.m3u8"
        expires = datetime.now(UTC) + timedelta(seconds=30)
        auditor.take([AuditAssignment(id=f"b{i}", url=url, expires_at=expires) for i in range(40)])
        for _ in range(200):
            if sum(len(b) for b in batches) == 40:
                break
            await asyncio.sleep(0.05)
        await auditor.aclose()
    assert sorted(i for b in batches for i in b) == sorted(f"b{i}" for i in range(40))
    assert all(1 <= len(b) <= 32 for b in batches)
