"""Cheating relays that tell the coordinator's address from everyone else's (issue 12's catalog).

A `PickyRelay` serves the coordinator's address (127.0.0.1) like an honest pull-through relay,
and everyone else — auditors and viewers, who come from 127.0.0.2 and up — by its `behaviour`:
`selective` answers them 404; `ondemand` fetches from the origin only when the coordinator asks
and keeps nothing, so others get the playlist it last fetched and a 404 for every segment;
`trickle` sends them the right bytes at `TRICKLE_BYTES_PER_S`.
"""

import asyncio

from aiohttp import web

from tests.trust.relays import MirrorRelay

TRUSTED = frozenset({"127.0.0.1"})
TRICKLE_BYTES_PER_S = 4096


class PickyRelay(MirrorRelay):
    """A MirrorRelay that serves the coordinator's address and cheats everyone else."""

    def __init__(self, origin_base: str, key: str, behaviour: str) -> None:
        super().__init__(origin_base, key)
        self.behaviour = behaviour
        self.served: dict[str, int] = {}  # client address -> requests answered

    def _trusted(self, request: web.Request) -> bool:
        address = request.remote or ""
        self.served[address] = self.served.get(address, 0) + 1
        return address in TRUSTED

    async def playlist(self, request: web.Request) -> web.Response:
        if self._trusted(request):
            return await super().playlist(request)
        if self.behaviour == "selective":
            raise web.HTTPNotFound()
        if self.behaviour == "ondemand":
            text = self.frozen.get(request.match_info["stream"])
            if text is None:
                raise web.HTTPNotFound()
            return web.Response(text=text, content_type="application/x-mpegurl")
        return await super().playlist(request)

    async def segment(self, request: web.Request) -> web.StreamResponse:
        if self._trusted(request):
            response = await super().segment(request)
            if self.behaviour == "ondemand":  # fetched for the coordinator, kept for nobody
                self.segments.pop(request.match_info["segment"], None)
            return response
        if self.behaviour in ("selective", "ondemand"):
            raise web.HTTPNotFound()
        if self.behaviour != "trickle":
            return await super().segment(request)
        body = self.segments.get(request.match_info["segment"])
        if body is None:
            raise web.HTTPNotFound()
        response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        response.content_length = len(body)
        await response.prepare(request)
        step = TRICKLE_BYTES_PER_S // 4
        try:
            for start in range(0, len(body), step):
                await response.write(body[start : start + step])
                await asyncio.sleep(0.25)
            await response.write_eof()
        except ConnectionError:  # the viewer gave up, as players do
            pass
        return response
