"""Peer audits by this node: fetch another relay's stream as a player would, report what came.

The coordinator names audits in the heartbeat answer (only to nodes that announce `audits:
true`). For each one the node reads the playlist (and its first variant when it is a master),
picks one of the newest three segments as a player joining live does, downloads it and reports
the HTTP status, byte count, SHA-256, time to first byte and total time to
`POST /api/v1/nodes/audits`. Requests carry what a browser player sends (a browser User-Agent,
`Accept: */*`) and nothing else: no query, no marker. They leave from the relay's own address
when the relay listens on one specific address (so auditors look like any other viewer).
"""

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import httpx

from desktop_app.core.tls_trust import trusted_context
from streamr_protocol.hls import HlsError, MasterPlaylist, parse_playlist
from streamr_protocol.models import AuditAssignment, AuditReport
from streamr_protocol.tasks import cancel_and_wait

__all__ = ["PLAYER_HEADERS", "Auditor", "audit_once"]

logger = logging.getLogger(__name__)

PLAYER_HEADERS: Final = {
    "User-Agent": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    ),
    "Accept": "*/*",
    "Accept-Language": "en-US,en;q=0.9",
}
MAX_PLAYLIST_BYTES: Final = 1 << 20
MAX_SEGMENT_BYTES: Final = 32 << 20
AUDIT_TIMEOUT_S: Final = 10.0
BATCH_S: Final = 1.0  # reports finished within this go out in one request
MAX_BATCH: Final = 32


async def _get_text(http: httpx.AsyncClient, url: str) -> tuple[int, str]:
    async with http.stream("GET", url) as response:
        if response.status_code != 200:
            return response.status_code, ""
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_PLAYLIST_BYTES:
                return 413, ""
        return 200, body.decode("utf-8", "replace")


@dataclass
class _Fetch:
    status: int = 0
    size: int = 0
    ttfb_ms: int = 0
    started: float = field(default_factory=time.monotonic)
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)


async def audit_once(
    http: httpx.AsyncClient, assignment_id: str, url: str, rnd: random.Random | None = None
) -> AuditReport:
    """Fetch `url` like a player and return the report (never raises on network trouble).

    Times are the segment's, as a viewer's beacon measures them; a segment still arriving at
    `AUDIT_TIMEOUT_S` is reported with its status and `error="timeout"` (a trickle).
    """
    rnd = rnd or random.SystemRandom()
    fetch = _Fetch()

    def report(status: int, error: str = "") -> AuditReport:
        done = status == 200 and not error
        return AuditReport(
            id=assignment_id,
            status=status,
            error=error,
            bytes=fetch.size,
            sha256=fetch.digest.hexdigest() if done else "",
            ttfb_ms=fetch.ttfb_ms,
            total_ms=int((time.monotonic() - fetch.started) * 1000),
        )

    try:
        async with asyncio.timeout(AUDIT_TIMEOUT_S):
            status, text = await _get_text(http, url)
            if status != 200:
                return report(status)
            playlist = parse_playlist(text, url)
            if isinstance(playlist, MasterPlaylist):
                if not playlist.variants:
                    return report(204)
                url = playlist.variants[0].uri
                status, text = await _get_text(http, url)
                if status != 200:
                    return report(status)
                playlist = parse_playlist(text, url)
            if isinstance(playlist, MasterPlaylist) or not playlist.segments:
                return report(204)
            segment = rnd.choice(playlist.segments[-3:])
            fetch.started = time.monotonic()
            async with http.stream("GET", segment.uri) as response:
                fetch.status = response.status_code
                if response.status_code != 200:
                    return report(response.status_code)
                async for chunk in response.aiter_bytes():
                    if fetch.size == 0:
                        fetch.ttfb_ms = int((time.monotonic() - fetch.started) * 1000)
                    fetch.digest.update(chunk)
                    fetch.size += len(chunk)
                    if fetch.size > MAX_SEGMENT_BYTES:
                        return report(413)
                return report(200)
    except TimeoutError:
        return report(fetch.status, "timeout")
    except (httpx.HTTPError, HlsError, ValueError, OSError) as exc:
        if fetch.status:
            return report(fetch.status, "error")
        return report(0, "refused" if isinstance(exc, httpx.ConnectError) else "error")


def player_client(source_address: str | None) -> httpx.AsyncClient:
    """An HTTP client sending what a browser player sends, from `source_address` if given."""
    verify = trusted_context(trust_env=False)
    transport = (
        httpx.AsyncHTTPTransport(local_address=source_address, verify=verify)
        if source_address
        else None
    )
    return httpx.AsyncClient(
        headers=PLAYER_HEADERS,
        timeout=httpx.Timeout(AUDIT_TIMEOUT_S, connect=3.0),
        follow_redirects=True,
        trust_env=False,
        transport=transport,
        verify=verify,
    )


class Auditor:
    """Runs the audits the coordinator assigns, each once, and posts the reports in batches."""

    def __init__(
        self,
        report: Callable[[Sequence[AuditReport]], Awaitable[object]],
        source_address: str | None = None,
    ) -> None:
        self._report = report
        self._source_address = source_address
        self._http: httpx.AsyncClient | None = None  # made at the first audit (issue 17)
        self._seen: dict[str, datetime] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: list[AuditReport] = []
        self._flusher: asyncio.Task[None] | None = None

    def take(self, assignments: Sequence[AuditAssignment]) -> None:
        """Start the assignments not seen before (the answer repeats them until reported)."""
        now = datetime.now(UTC)
        self._seen = {i: e for i, e in self._seen.items() if e > now}
        for assignment in assignments:
            if assignment.id in self._seen or assignment.expires_at <= now:
                continue
            self._seen[assignment.id] = assignment.expires_at
            task = asyncio.create_task(self._run(assignment), name=f"audit-{assignment.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, assignment: AuditAssignment) -> None:
        # spread like viewers arriving: not at the instant the heartbeat answer came
        await asyncio.sleep(random.uniform(0, 1.0))
        if self._http is None:  # a node never assigned an audit holds no client (and its CAs)
            self._http = player_client(self._source_address)
        result = await audit_once(self._http, assignment.id, assignment.url)
        self._done.append(result)  # after the await: the flusher may have swapped the list
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="audit-reports")

    async def _flush(self) -> None:
        """Post the reports done within `BATCH_S` in one request."""
        await asyncio.sleep(BATCH_S)
        reports, self._done = self._done, []
        try:
            for start in range(0, len(reports), MAX_BATCH):
                await self._report(reports[start : start + MAX_BATCH])
        except Exception as exc:  # the coordinator is away: the assignments expire, no harm
            logger.info("audit reports not delivered: %s", exc)

    async def aclose(self) -> None:
        """Cancel running audits and close the client."""
        tasks = [*self._tasks, *([self._flusher] if self._flusher else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            await cancel_and_wait(task)
        if self._http is not None:
            await self._http.aclose()
