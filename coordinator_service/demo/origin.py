"""A live test-pattern origin: ffmpeg writes live HLS, an aiohttp server serves it like SRS 6.

Usable as an async context manager (tests) and as a process (the demo):

    async with LiveOrigin(streams=("demo",)) as origin:
        print(origin.url("demo"))      # http://127.0.0.1:PORT/live/demo.m3u8

    python -m coordinator_service.demo.origin --stream demo --port 8080

The SRS 6 shape: the first request for `/live/NAME.m3u8` is answered with a master playlist
pointing at `/live/NAME.m3u8?hls_ctx=CTX`; that media playlist's segment URIs carry
`?hls_ctx=CTX` too. With `abr=True` ffmpeg encodes a two-variant ladder and `/live/NAME.m3u8`
is its master playlist. Faults (`origin.fault = "offline"` …) let tests make the origin misbehave.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import shutil
import signal
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import m3u8
from aiohttp import web

__all__ = ["FAULTS", "Fault", "LiveOrigin", "ffmpeg_exe", "main"]

logger = logging.getLogger(__name__)

Fault = Literal["offline", "not_playlist", "huge", "html", "segment_500"]
FAULTS: tuple[Fault, ...] = ("offline", "not_playlist", "huge", "html", "segment_500")
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LADDER = (("320x180", "300k"), ("160x90", "120k"))


def ffmpeg_exe() -> str:
    """Return the ffmpeg of the imageio-ffmpeg wheel, or the system's one."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        found = shutil.which("ffmpeg")
        if not found:
            raise RuntimeError(
                "ffmpeg not found: install imageio-ffmpeg or Debian's ffmpeg"
            ) from None
        return found


@dataclass
class _Publisher:
    """One stream's ffmpeg process and its output folder."""

    name: str
    folder: Path
    process: asyncio.subprocess.Process | None = None
    runs: int = 0
    ctx: str = field(default_factory=lambda: secrets.token_hex(4))


class LiveOrigin:
    """ffmpeg test-pattern encoders plus an SRS-6-shaped HLS server on 127.0.0.1."""

    def __init__(
        self,
        streams: tuple[str, ...] | list[str] = ("demo",),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        segment_s: float = 1.0,
        list_size: int = 6,
        size: str = "320x180",
        video_bitrate: str = "300k",
        srs_master: bool = True,
        segment_query: bool = True,
        absolute_uris: bool = False,
        abr: bool = False,
        cbr: bool = False,
        workdir: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.segment_s = segment_s
        self.list_size = list_size
        self.size = size
        self.video_bitrate = video_bitrate
        self.srs_master = srs_master and not abr
        self.segment_query = segment_query
        self.absolute_uris = absolute_uris
        self.abr = abr
        self.cbr = cbr
        self.fault: Fault | None = None
        self.requests: Counter[str] = Counter()
        self._own_dir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="streamr-origin-")) if workdir is None else workdir
        )
        self._publishers = {name: _Publisher(name, self.workdir / name) for name in streams}
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self, *, wait: bool = True) -> None:
        """Start the HTTP server and every publisher; wait for their first segments."""
        app = web.Application()
        app.on_response_prepare.append(_allow_any_origin)
        app.router.add_get("/live/{file}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        for name in self._publishers:
            await self.start_publisher(name, wait=wait)

    async def close(self) -> None:
        """Stop publishers and the server; remove the working folder if it was ours."""
        for name in self._publishers:
            await self.stop_publisher(name)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def url(self, name: str | None = None) -> str:
        """Return the playlist URL of a stream (the first one by default)."""
        return f"http://{self.host}:{self.port}/live/{name or self.first}.m3u8"

    @property
    def first(self) -> str:
        return next(iter(self._publishers))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- publishers ---------------------------------------------------------------------------

    def _command(self, pub: _Publisher) -> list[str]:
        rate = 25
        gop = max(1, round(rate * self.segment_s))
        text = ""
        if FONT.exists():
            text = (
                f",drawtext=fontfile={FONT}:text='{pub.name} %{{localtime\\:%T}}':x=6:y=6:"
                "fontsize=16:fontcolor=white:box=1:boxcolor=black@0.6"
            )
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", f"testsrc2=size={self.size}:rate={rate}",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        ]  # fmt: skip
        codec = [
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "64k", "-ar", "44100",
        ]  # fmt: skip
        hls = [
            "-f", "hls", "-hls_time", str(self.segment_s), "-hls_list_size", str(self.list_size),
            "-hls_flags", "delete_segments+program_date_time+temp_file", "-start_number", "0",
        ]  # fmt: skip
        folder = pub.folder
        rate_args = ["-b:v", self.video_bitrate]
        if self.cbr:  # pad to the bitrate, so segments have the size a real stream's have
            bitrate = self.video_bitrate
            rate_args += ["-minrate", bitrate, "-maxrate", bitrate, "-bufsize", bitrate]
            rate_args += ["-x264-params", "nal-hrd=cbr"]
        if not self.abr:
            return [
                *cmd, "-vf", f"null{text}", *codec, *rate_args, *hls,
                "-hls_segment_filename", str(folder / f"{pub.name}-%d.ts"),
                str(folder / f"{pub.name}.m3u8"),
            ]  # fmt: skip
        split = f"[0:v]split=2[a][b];[a]scale={LADDER[0][0]}{text}[v0];[b]scale={LADDER[1][0]}[v1]"
        return [
            *cmd, "-filter_complex", split,
            "-map", "[v0]", "-map", "[v1]", "-map", "1:a", "-map", "1:a", *codec,
            "-b:v:0", LADDER[0][1], "-b:v:1", LADDER[1][1], *hls,
            "-var_stream_map", "v:0,a:0 v:1,a:1", "-master_pl_name", f"{pub.name}.m3u8",
            "-hls_segment_filename", str(folder / f"{pub.name}_%v-%d.ts"),
            str(folder / f"{pub.name}_%v.m3u8"),
        ]  # fmt: skip

    async def start_publisher(self, name: str | None = None, *, wait: bool = True) -> None:
        """(Re)start a stream's encoder; numbering starts again at 0, like SRS after a restart."""
        pub = self._publishers[name or self.first]
        if pub.process is not None:
            return
        pub.folder.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / f"{pub.name}.ffmpeg.log").open("ab")
        try:
            pub.process = await asyncio.create_subprocess_exec(
                *self._command(pub),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        finally:
            log.close()
        pub.runs += 1
        if wait:
            await self.wait_segments(2, pub.name)

    async def stop_publisher(
        self, name: str | None = None, *, remove_playlist: bool = True
    ) -> None:
        """Stop a stream's encoder; with remove_playlist the playlist 404s (as nginx-rtmp does),
        otherwise it stays, ending with ENDLIST (ffmpeg writes it on a clean stop)."""
        pub = self._publishers[name or self.first]
        process, pub.process = pub.process, None
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if remove_playlist:
            for playlist in pub.folder.glob("*.m3u8"):
                playlist.unlink(missing_ok=True)

    def media_playlist_paths(self, name: str | None = None) -> list[Path]:
        """Return the media playlist files ffmpeg writes for a stream."""
        pub = self._publishers[name or self.first]
        if self.abr:
            return [pub.folder / f"{pub.name}_{i}.m3u8" for i in range(len(LADDER))]
        return [pub.folder / f"{pub.name}.m3u8"]

    def media_playlists(self, name: str | None = None) -> list[m3u8.M3U8]:
        """Parse the media playlists as they are on disk now (missing ones are skipped)."""
        out = []
        for path in self.media_playlist_paths(name):
            with contextlib.suppress(FileNotFoundError):
                out.append(m3u8.loads(path.read_text()))
        return out

    def segment_bytes(self, uri: str, name: str | None = None) -> bytes:
        """Return a segment's bytes on disk, by the URI the playlist lists."""
        pub = self._publishers[name or self.first]
        return (pub.folder / uri.split("?")[0].rsplit("/", 1)[-1]).read_bytes()

    async def wait_segments(self, count: int, name: str | None = None, timeout: float = 30) -> None:
        """Wait until every media playlist of a stream lists at least `count` segments."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        paths = self.media_playlist_paths(name)
        while loop.time() < deadline:
            lists = self.media_playlists(name)
            if len(lists) == len(paths) and all(len(p.segments) >= count for p in lists):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"origin produced no {count} segments in {timeout} s")

    # --- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        file = request.match_info["file"]
        self.requests[file] += 1
        if self.fault == "offline":
            raise web.HTTPNotFound()
        if file.endswith(".m3u8"):
            return self._playlist(request, file)
        if file.endswith(".ts"):
            if self.fault == "segment_500":
                raise web.HTTPInternalServerError()
            return self._segment(file)
        raise web.HTTPNotFound()

    def _find(self, file: str) -> tuple[_Publisher, Path]:
        for pub in self._publishers.values():
            if file.startswith(pub.name):
                path = pub.folder / file
                if path.parent == pub.folder and path.is_file():
                    return pub, path
        raise web.HTTPNotFound()

    def _playlist(self, request: web.Request, file: str) -> web.Response:
        if self.fault == "not_playlist":
            return web.Response(body=b"\x00\x01 this is not a playlist", content_type=PLAYLIST_TYPE)
        if self.fault == "html":
            return web.Response(
                text="<html><body>Bad gateway</body></html>", content_type="text/html"
            )
        if self.fault == "huge":
            body = b"#EXTM3U\n" + b"#EXT-X-COMMENT:" + b"x" * (2 << 20) + b"\n"
            return web.Response(body=body, content_type=PLAYLIST_TYPE)
        pub, path = self._find(file)
        ctx = request.query.get("hls_ctx")
        if self.srs_master and ctx is None:
            master = (
                "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1\n"
                f"/live/{file}?hls_ctx={pub.ctx}\n"
            )
            return web.Response(text=master, content_type=PLAYLIST_TYPE)
        text = path.read_text()
        playlist = m3u8.loads(text)
        if playlist.is_variant or not (self.segment_query or self.absolute_uris):
            return web.Response(text=text, content_type=PLAYLIST_TYPE)
        for segment in playlist.segments:
            uri = segment.uri
            if self.absolute_uris:
                uri = f"{self.base_url}/live/{uri}"
            if self.segment_query:
                uri = f"{uri}?hls_ctx={ctx or pub.ctx}"
            segment.uri = uri
        return web.Response(text=playlist.dumps(), content_type=PLAYLIST_TYPE)

    def _segment(self, file: str) -> web.Response:
        _, path = self._find(file)
        return web.Response(body=path.read_bytes(), content_type="video/mp2t")


async def _allow_any_origin(_request: web.Request, response: web.StreamResponse) -> None:
    """Let browser players read it from any page, as SRS does (`crossdomain on`)."""
    response.headers["Access-Control-Allow-Origin"] = "*"


async def _serve(args: argparse.Namespace) -> None:
    origin = LiveOrigin(
        tuple(args.stream) or ("demo",),
        host=args.host,
        port=args.port,
        srs_master=not args.no_srs_master,
        abr=args.abr,
        size=args.size,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with origin:
        for name in origin._publishers:
            print(f"origin: {origin.url(name)}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the origin until SIGINT/SIGTERM, printing each stream's playlist URL."""
    parser = argparse.ArgumentParser(prog="python -m coordinator_service.demo.origin")
    parser.add_argument("--stream", action="append", default=[], help="stream name (repeatable)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--abr", action="store_true", help="two-variant ladder with a master")
    parser.add_argument("--no-srs-master", action="store_true", help="no hls_ctx master step")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except (OSError, RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
