"""Pull one stream from its origin into sliding windows: adaptive polling, each segment once.

A stream is one media playlist, or a master playlist whose variants are all pulled. SRS 6's
`hls_ctx` step (a one-variant master) is followed for every variant and the session URL it gives
is kept, stepped again only when SRS expires it (`streamr_protocol.hls_steps`), so SRS counts
the node once.
Origin trouble (404, ENDLIST, stalls, garbage, 5xx) is logged once per kind, retried with
backoff, and never drops what is already good; after `grace_s` offline the stream is reported
not live and its window is dropped.
"""

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx

from desktop_app.core.backoff import Backoff
from desktop_app.core.errors import OriginError, PlaylistError
from desktop_app.core.relay.media import media_kind
from desktop_app.core.relay.origin_policy import MAX_REDIRECTS, OriginPolicy
from desktop_app.core.relay.window import CachedSegment, SegmentWindow
from streamr_protocol.hls import (
    HlsError,
    MasterPlaylist,
    MediaPlaylist,
    Variant,
    parse_playlist,
    render_master,
)
from streamr_protocol.hls_steps import follow_steps, resolve_renditions
from streamr_protocol.tasks import cancel_and_wait

__all__ = ["PullSettings", "Rendition", "StreamPuller"]

logger = logging.getLogger(__name__)

SEGMENT_EXTENSIONS = {".ts", ".aac", ".mp3", ".m4s", ".mp4", ".m4a"}
BAD_PLAYLIST_TYPES = ("text/html", "application/json", "image/", "video/", "application/xml")
BAD_SEGMENT_TYPES = ("text/html", "application/json", "image/", "application/xml")


class _Offline(OriginError):
    """The origin says the stream is gone (404/410)."""


class _Rediscover(Exception):
    """The playlist layout changed: fetch the entry URL again."""


@dataclass
class PullSettings:
    """Timing and size limits of the puller (tests shorten the times)."""

    fast_poll_s: float = 0.1
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 5.0
    grace_s: float = 10.0
    stall_factor: float = 3.0
    playlist_max_bytes: int = 1 << 20
    segment_max_bytes: int = 32 << 20
    window_max_bytes: int = 64 << 20
    initial_segments: int = 4
    max_variants: int = 8


@dataclass
class Rendition:
    """One media playlist of a stream and the node's window of it."""

    url: str
    window: SegmentWindow
    variant: Variant | None = None
    last_sequence: int = -1
    uris: dict[int, str] = field(default_factory=dict)


class StreamPuller:
    """Keep a stream's renditions in memory, following its origin until stopped."""

    def __init__(
        self,
        name: str,
        origin_url: str,
        client: httpx.AsyncClient,
        settings: PullSettings | None = None,
        on_live_changed: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.name = name
        self.origin_url = origin_url
        self.policy = OriginPolicy(origin_url)  # raises OriginRefused for a non-http(s) origin
        self.settings = settings or PullSettings()
        self.renditions: list[Rendition] = []
        self.master: MasterPlaylist | None = None
        self.live = False
        self.segments_pulled = 0
        self._client = client
        self._on_live_changed = on_live_changed
        self._offline_since: float | None = None
        self._last_new_at = 0.0
        self._problem: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._master_body: bytes | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"pull {self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        try:
            if task is not None:
                await cancel_and_wait(task)
        finally:
            self._set_live(False)

    # --- what the server reads -----------------------------------------------------------------

    @property
    def multi(self) -> bool:
        return len(self.renditions) > 1

    def master_body(self) -> bytes | None:
        """The node's master playlist when the stream has several variants (made once)."""
        if not self.multi or not self._has_segments():
            return None
        if self._master_body is None:
            pairs = [(r.variant, f"{self.name}/{i}.m3u8") for i, r in enumerate(self.renditions)]
            text = render_master([(v, uri) for v, uri in pairs if v is not None])
            self._master_body = text.encode()
        return self._master_body

    def media_body(self, index: int) -> bytes | None:
        """A rendition's media playlist, with URIs relative to where it is served."""
        if index >= len(self.renditions) or not self.renditions[index].window:
            return None
        prefix = f"{index}/" if self.multi else f"{self.name}/"
        return self.renditions[index].window.playlist_bytes(prefix)

    def segment(self, index: int, name: str) -> CachedSegment | None:
        if index >= len(self.renditions):
            return None
        return self.renditions[index].window.get(name)

    @property
    def segments_cached(self) -> int:
        return sum(len(r.window) for r in self.renditions)

    @property
    def bytes_cached(self) -> int:
        return sum(r.window.bytes_cached for r in self.renditions)

    @property
    def newest_sequence(self) -> int | None:
        newest = self.renditions[0].window.newest if self.renditions else None
        return newest.sequence if newest else None

    def _has_segments(self) -> bool:
        return any(len(r.window) for r in self.renditions)

    # --- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(self.settings.backoff_initial_s, self.settings.backoff_max_s)
        while True:
            try:
                await self._discover()
                backoff.reset()
                await self._follow()
            except _Rediscover:
                pass
            except _Offline as exc:
                self._report(str(exc))
                self._went_offline()
            except (OriginError, PlaylistError, HlsError) as exc:
                self._report(str(exc))
            self._tick()
            await asyncio.sleep(backoff.next())

    async def _discover(self) -> None:
        """Read the entry URL, through SRS's `hls_ctx` step for every variant."""
        resolved = await resolve_renditions(
            self._fetch_playlist, self.origin_url, self.settings.max_variants
        )
        variants = [r.variant for r in resolved]
        self.master = MasterPlaylist(tuple(v for v in variants if v)) if len(resolved) > 1 else None
        self._layout([r.url for r in resolved], variants)

    def _layout(self, urls: list[str], variants: list[Variant | None]) -> None:
        """Keep the windows when the layout is unchanged (e.g. a new hls_ctx), else rebuild."""
        self._master_body = None  # the variants may have changed
        if len(urls) == len(self.renditions):
            for rendition, url, variant in zip(self.renditions, urls, variants, strict=True):
                rendition.url, rendition.variant = url, variant
            return
        self.renditions = [
            Rendition(url=u, variant=v, window=SegmentWindow(self._window_bytes(len(urls))))
            for u, v in zip(urls, variants, strict=True)
        ]

    def set_window_budget(self, max_bytes: int) -> None:
        """Bound the memory of this stream's windows (shared among its renditions)."""
        self.settings = dataclasses.replace(self.settings, window_max_bytes=max_bytes)
        for rendition in self.renditions:
            rendition.window.max_bytes = self._window_bytes(len(self.renditions))

    def _window_bytes(self, count: int) -> int:
        return max(1 << 20, self.settings.window_max_bytes // max(1, count))

    async def _follow(self) -> None:
        """Follow every rendition until one of them needs the entry URL again."""
        tasks = [asyncio.create_task(self._follow_rendition(r)) for r in self.renditions]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error

    async def _follow_rendition(self, rendition: Rendition) -> None:
        backoff = Backoff(self.settings.backoff_initial_s, self.settings.backoff_max_s)
        expected: float | None = None
        while True:
            try:
                text, final_url = await self._fetch_playlist(rendition.url)
                parsed = parse_playlist(text, final_url)  # after redirects
                if isinstance(parsed, MasterPlaylist):  # SRS expired our hls_ctx session
                    final_url, parsed = await follow_steps(self._fetch_playlist, final_url, parsed)
                    if isinstance(parsed, MasterPlaylist):
                        raise _Rediscover()
                    rendition.url = final_url  # the session SRS gave us now
                added = await self._ingest(rendition, parsed)
            except _Offline:
                raise
            except (OriginError, PlaylistError, HlsError) as exc:
                self._report(str(exc))
                self._tick()
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            self._clear_problem()
            now = time.monotonic()
            if added is not None:
                expected = now + added.duration
            self._tick()
            await asyncio.sleep(self._poll_delay(parsed.target_duration, expected, now))

    def _poll_delay(self, target: float, expected: float | None, now: float) -> float:
        """About half the target duration; poll fast around when the next segment is due."""
        relaxed = max(self.settings.fast_poll_s, target / 2)
        if expected is None:
            return relaxed
        lead = min(0.25 * target, 0.5)
        if now < expected - lead:
            return min(relaxed, expected - lead - now)
        if now < expected + target / 2:
            return self.settings.fast_poll_s
        return relaxed

    async def _ingest(self, rendition: Rendition, playlist: MediaPlaylist) -> CachedSegment | None:
        window = rendition.window
        window.target_duration = playlist.target_duration
        segments = playlist.segments
        if segments and self._restarted(rendition, playlist):
            logger.info("stream %s: publisher restarted at the origin", self.name)
            window.mark_discontinuity()
            rendition.last_sequence = -1
            rendition.uris.clear()
        fresh = [s for s in segments if s.sequence > rendition.last_sequence]
        if rendition.last_sequence < 0:
            fresh = fresh[-self.settings.initial_segments :]
        fresh = fresh[-window.max_segments :]  # older ones would be evicted at once
        added: CachedSegment | None = None
        for segment in fresh:
            if rendition.last_sequence >= 0 and segment.sequence > rendition.last_sequence + 1:
                window.mark_discontinuity()
            data = await self._fetch_segment(segment.uri)
            added = window.add(
                data,
                duration=segment.duration,
                origin_uri=segment.uri,
                extension=_extension(segment.uri),
                discontinuity=segment.discontinuity,
                program_date_time=segment.program_date_time,
                title=segment.title,
                origin_sequence=segment.sequence,
            )
            rendition.last_sequence = segment.sequence
            rendition.uris[segment.sequence] = _path(segment.uri)
            self.segments_pulled += 1
            self._last_new_at = time.monotonic()
            self._offline_since = None
            self._set_live(True)
        for old in [seq for seq in rendition.uris if seq < playlist.media_sequence]:
            del rendition.uris[old]
        if playlist.ended and not window.ended:
            window.ended = True
            logger.info("stream %s: origin ended the stream (ENDLIST)", self.name)
            self._went_offline()
        return added

    @staticmethod
    def _restarted(rendition: Rendition, playlist: MediaPlaylist) -> bool:
        if rendition.last_sequence < 0:
            return False
        if playlist.segments[-1].sequence < rendition.last_sequence:
            return True
        return any(
            rendition.uris.get(s.sequence, _path(s.uri)) != _path(s.uri) for s in playlist.segments
        )

    # --- liveness ------------------------------------------------------------------------------

    def _went_offline(self) -> None:
        if self._offline_since is None:
            self._offline_since = time.monotonic()

    def _tick(self) -> None:
        """Detect stalls; after the grace period offline, report not live and drop the window."""
        now = time.monotonic()
        target = max((r.window.target_duration for r in self.renditions), default=1.0)
        stall_after = max(self.settings.stall_factor * target, 2.0)
        if self.live and self._offline_since is None and now - self._last_new_at > stall_after:
            if self._problem is None:
                self._report(f"no new segment for {stall_after:.0f} s (stalled)")
            self._offline_since = now
        if self._offline_since is not None and now - self._offline_since >= self.settings.grace_s:
            if self.live:
                logger.warning("stream %s: not live; dropping its window", self.name)
                for rendition in self.renditions:
                    # where it was is kept: SRS 6 goes on serving its last playlist after the
                    # publisher left, and those segments must not come back as new ones
                    rendition.window.clear()
            self._set_live(False)

    def _set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            if self._on_live_changed is not None:
                self._on_live_changed(self.name, live)

    def _report(self, problem: str) -> None:
        if problem != self._problem:
            logger.warning("stream %s: %s (%s)", self.name, problem, self.origin_url)
            self._problem = problem

    def _clear_problem(self) -> None:
        if self._problem is not None:
            logger.info("stream %s: origin is fine again", self.name)
            self._problem = None

    # --- HTTP ----------------------------------------------------------------------------------

    async def _fetch_playlist(self, url: str) -> tuple[str, str]:
        body, content_type, final = await self._get(
            url, self.settings.playlist_max_bytes, "playlist"
        )
        if content_type.startswith(BAD_PLAYLIST_TYPES):
            raise PlaylistError(f"origin sent {content_type or 'no type'} instead of a playlist")
        try:
            return body.decode("utf-8"), final
        except UnicodeDecodeError:
            raise PlaylistError("playlist is not UTF-8 text") from None

    async def _fetch_segment(self, url: str) -> bytes:
        body, content_type, _ = await self._get(url, self.settings.segment_max_bytes, "segment")
        if content_type.startswith(BAD_SEGMENT_TYPES):
            raise OriginError(f"origin sent {content_type} instead of a media segment")
        if media_kind(body) is None:
            raise OriginError("segment does not look like media (MPEG-TS, fMP4 or AAC/MP3)")
        return body

    async def _get(self, url: str, limit: int, what: str) -> tuple[bytes, str, str]:
        """GET within the origin policy, following same-origin redirects only."""
        for _ in range(MAX_REDIRECTS + 1):
            self.policy.check_url(url)
            await self.policy.check_addresses()
            got = await self._get_once(url, limit, what)
            if isinstance(got, tuple):
                return got
            url = self.policy.redirect_target(url, got)
        raise OriginError(f"too many redirects for the {what}")

    async def _get_once(self, url: str, limit: int, what: str) -> tuple[bytes, str, str] | str:
        """Fetch one URL: the body, type and URL, or the Location of a redirect."""
        try:
            async with self._client.stream("GET", url, follow_redirects=False) as response:
                if response.is_redirect and response.headers.get("location"):
                    return response.headers["location"]
                if response.status_code in (404, 410):
                    raise _Offline(f"origin answers {response.status_code} for the {what}")
                if response.status_code != 200:
                    raise OriginError(f"origin answers HTTP {response.status_code} for the {what}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise OriginError(f"{what} larger than {limit} bytes")
                chunks = bytearray()
                async for chunk in response.aiter_bytes():
                    chunks += chunk
                    if len(chunks) > limit:
                        raise OriginError(f"{what} larger than {limit} bytes")
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                return bytes(chunks), content_type.lower(), str(response.url)
        except httpx.HTTPError as exc:
            raise OriginError(
                f"cannot fetch the {what}: {type(exc).__name__} {exc}".strip()
            ) from exc


def _path(uri: str) -> str:
    return urlsplit(uri).path


def _extension(uri: str) -> str:
    suffix = PurePosixPath(_path(uri)).suffix.lower()
    return suffix if suffix in SEGMENT_EXTENSIONS else ".ts"
