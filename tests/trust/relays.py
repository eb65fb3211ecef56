"""Real aiohttp relays standing in for nodes, honest or cheating, in front of a live origin.

A `MirrorRelay` serves `/live/{stream}.m3u8` and its segments like a node does (own segment
names, the probe proof on `?streamr_nonce=`), pulling from the origin on demand. Its `mode`
makes it cheat: `stale` freezes the playlist, `corrupt` flips bytes, `other:NAME` serves another
stream's bytes, and `key` may be any node's (or a wrong) probe key.
"""

import asyncio
import hashlib
from urllib.parse import urljoin

import httpx
import m3u8
from aiohttp import web

from streamr_protocol import NONCE_PARAM, PROOF_HEADER, make_proof


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> "MirrorRelay":
        app = web.Application()
        app.router.add_get("/live/{stream}.m3u8", self.playlist)
        app.router.add_get("/live/{stream}/{segment}", self.segment)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
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
        if body is None:
            raise web.HTTPNotFound()
        if self.mode == "corrupt":
            body = bytes(b ^ 0x55 for b in body[:64]) + body[64:]
        headers = {}
        nonce = request.query.get(NONCE_PARAM)
        if nonce:
            headers[PROOF_HEADER] = make_proof(self.key, nonce, body)
        return web.Response(body=body, headers=headers, content_type="video/mp2t")
