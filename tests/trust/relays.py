"""Real aiohttp relays standing in for nodes, honest or cheating, in front of a live origin.

A `MirrorRelay` serves `/live/{stream}.m3u8` and its segments like a node does (own segment
names, every segment signed over its URL), pulling from the origin on demand. Its `mode`
makes it cheat: `stale` freezes the playlist, `corrupt` flips bytes, `other:NAME` serves another
stream's bytes, `probes-only` answers only what looks like the coordinator's old probes (the
`streamr_nonce` query or httpx's User-Agent) and 404s every viewer, `legacy` signs only
nonce requests (an app older than signed segments); `key` may be any node's (or a wrong) key.
"""

import asyncio
import hashlib
from urllib.parse import urljoin

import httpx
import m3u8
from aiohttp import web

from streamr_protocol import (
    NONCE_PARAM,
    PROOF_HEADER,
    SEGMENT_PROOF_HEADER,
    make_proof,
    segment_proof,
)


class MirrorRelay:
    """A pull-through relay on 127.0.0.1 (port 0)."""

    def __init__(self, origin_base: str, key: str, mode: str = "honest") -> None:
        self.origin_base = origin_base
        self.key = key
        self.mode = mode
        self.delay_s = 0.0
        self.frozen: dict[str, str] = {}
        self.segments: dict[str, bytes] = {}
        self.client = httpx.AsyncClient(timeout=5)
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.host = "127.0.0.1"
        self.sign_url = ""  # the relay URL it signs for ("": its own)
        self.viewer_requests = 0
        self.probe_like_requests = 0
        self.seen: list[tuple[str, dict[str, str]]] = []  # (path with query, headers)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _probe_like(self, request: web.Request) -> bool:
        """Tell whether a request looks like the coordinator's probes before signed segments."""
        self.seen.append((request.path_qs, dict(request.headers)))
        looks = NONCE_PARAM in request.query or "python-httpx" in request.headers.get(
            "User-Agent", ""
        )
        if looks:
            self.probe_like_requests += 1
        else:
            self.viewer_requests += 1
        return looks

    async def __aenter__(self) -> "MirrorRelay":
        app = web.Application()
        app.router.add_get("/live/{stream}.m3u8", self.playlist)
        app.router.add_get("/live/{stream}/{segment}", self.segment)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        await self.client.aclose()

    async def _origin_playlist(self, stream: str) -> tuple[str, m3u8.M3U8]:
        url = f"{self.origin_base}/live/{stream}.m3u8"
        playlist = m3u8.loads((await self.client.get(url)).text)
        if playlist.is_variant:
            url = urljoin(url, playlist.playlists[0].uri)
            playlist = m3u8.loads((await self.client.get(url)).text)
        return url, playlist

    async def playlist(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay_s)
        if not self._probe_like(request) and self.mode == "probes-only":
            raise web.HTTPNotFound()
        stream = request.match_info["stream"]
        if self.mode == "stale" and stream in self.frozen:
            return web.Response(text=self.frozen[stream], content_type="application/x-mpegurl")
        source = self.mode.split(":", 1)[1] if self.mode.startswith("other:") else stream
        url, playlist = await self._origin_playlist(source)
        kept = []
        for segment in playlist.segments:
            got = await self.client.get(urljoin(url, segment.uri))
            if got.status_code != 200:  # deleted at the origin since it was listed
                continue
            body = got.content
            kept.append(segment)
            name = hashlib.sha256(body).hexdigest()[:16] + ".ts"
            self.segments[name] = body
            segment.uri = f"{stream}/{name}"
        if len(kept) < len(playlist.segments):
            playlist.segments = m3u8.SegmentList(kept)
        text = playlist.dumps()
        self.frozen[stream] = text
        return web.Response(text=text, content_type="application/x-mpegurl")

    async def segment(self, request: web.Request) -> web.Response:
        body = self.segments.get(request.match_info["segment"])
        if body is None or (not self._probe_like(request) and self.mode == "probes-only"):
            raise web.HTTPNotFound()
        if self.mode == "corrupt":
            body = bytes(b ^ 0x55 for b in body[:64]) + body[64:]
        headers = {}
        nonce = request.query.get(NONCE_PARAM)
        if nonce:
            headers[PROOF_HEADER] = make_proof(self.key, nonce, body)
        if self.mode != "legacy":
            digest = hashlib.sha256(body).hexdigest()
            signed_as = self.sign_url or self.url
            headers[SEGMENT_PROOF_HEADER] = segment_proof(self.key, signed_as, digest)
        return web.Response(body=body, headers=headers, content_type="video/mp2t")
