"""Probe 1,000 node relays on loopback in one cycle; report the time and the coordinator's CPU.

The origin is the live ffmpeg test pattern (a subprocess); the 1,000 relays are one aiohttp
server in another subprocess, relay `i` at `http://127.0.0.1:PORT/n{i}` with its own probe key.
The coordinator side is the real prober (claims with leases, concurrent probes, SHA-256 checks,
proof checks, reputation updates) on SQLite, in this process, so its CPU time is measured alone.
Target: < 20 s per cycle. Usage: python benchmarks/prober.py [--nodes N] [--concurrency C]
"""

import argparse
import asyncio
import hashlib
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import m3u8  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine  # noqa: E402

from coordinator_service.prober.scheduler import Prober, ProberSettings  # noqa: E402
from coordinator_service.storage.models import Base, Node, Probe, Stream, UptimeInterval  # noqa: E402
from streamr_protocol import SEGMENT_PROOF_HEADER, segment_proof  # noqa: E402
from tests.fixtures.net import free_port, wait_http  # noqa: E402

TARGET_S = 20.0


def key_of(index: int) -> str:
    return f"bench-key-{index:05d}"


async def serve_relays(origin: str, port: int) -> None:
    """Serve every relay path from one cached copy of the origin (refreshed twice a second)."""
    client = httpx.AsyncClient(timeout=5)
    cache: dict[str, tuple[bytes, str]] = {}
    state = {"text": "", "at": 0.0}
    lock = asyncio.Lock()

    async def playlist_text() -> str:
        async with lock:
            if time.monotonic() - state["at"] > 0.5:
                url = origin
                parsed = m3u8.loads((await client.get(url)).text)
                if parsed.is_variant:
                    url = str(httpx.URL(url).join(parsed.playlists[0].uri))
                    parsed = m3u8.loads((await client.get(url)).text)
                for segment in parsed.segments:
                    name = segment.uri.split("?")[0].rsplit("/", 1)[-1]
                    if name not in cache:
                        segment_url = str(httpx.URL(url).join(segment.uri))
                        body = (await client.get(segment_url)).content
                        cache[name] = (body, hashlib.sha256(body).hexdigest())
                    segment.uri = f"seg/{name}"
                state["text"], state["at"] = parsed.dumps(), time.monotonic()
            return str(state["text"])

    async def playlist(request: web.Request) -> web.Response:
        return web.Response(text=await playlist_text(), content_type="application/x-mpegurl")

    async def segment(request: web.Request) -> web.Response:
        cached = cache.get(request.match_info["name"])
        if cached is None:
            raise web.HTTPNotFound()
        body, digest = cached
        key = key_of(int(request.match_info["node"]))
        # the nodes differ by path here (relay URLs are checked when nodes register, not here)
        proof = segment_proof(key, f"http://127.0.0.1:{request.url.port}", digest)
        return web.Response(body=body, headers={SEGMENT_PROOF_HEADER: proof})

    app = web.Application()
    app.router.add_get(r"/n{node:\d+}/live/main.m3u8", playlist)
    app.router.add_get(r"/n{node:\d+}/live/seg/{name}", segment)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    print("relays ready", flush=True)
    await asyncio.Event().wait()


async def measure(nodes: int, concurrency: int, origin: str, relay_base: str, db: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{db}")
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            insert(Stream),
            [{"id": 1, "name": "main", "origin_url": origin, "pool_per_hour_minor": 100,
              "currency": "USD", "created_at": now}],
        )  # fmt: skip
        await conn.execute(
            insert(Node),
            [
                {"id": f"n{i:05d}", "token_hash": f"t{i}", "probe_key": key_of(i),
                 "display_name": f"n{i}", "payout_handle": f"@n{i}",
                 "relay_url": f"{relay_base}/n{i}", "created_at": now, "last_heartbeat_at": now,
                 "reputation_alpha": 20.0}
                for i in range(nodes)
            ],
        )  # fmt: skip
        await conn.execute(
            insert(UptimeInterval),
            [
                {"node_id": f"n{i:05d}", "stream_id": 1, "started_at": now - timedelta(minutes=1),
                 "ended_at": now + timedelta(hours=1)}
                for i in range(nodes)
            ],
        )  # fmt: skip
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    prober = Prober(
        sessions,
        ProberSettings(
            probe_interval_s=600, allow_private_relays=True, concurrency=concurrency, batch=nodes
        ),
    )
    try:
        await prober.poll_origins()
        cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        probed = await prober.probe_due()
        wall = time.perf_counter() - wall0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    finally:
        await prober.stop()
    async with sessions() as session:
        rows = (
            await session.execute(select(Probe.reason, func.count()).group_by(Probe.reason))
        ).all()
    await engine.dispose()
    reasons = ", ".join(f"{reason} {count}" for reason, count in rows)
    print(
        f"prober: {probed} relays probed in one cycle in {wall:.2f} s "
        f"(target {TARGET_S:.0f} s, ratio {wall / TARGET_S:.2f}); coordinator CPU {cpu:.2f} s "
        f"({100 * cpu / wall:.0f} % of one core); results: {reasons}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--serve-relays", metavar="ORIGIN", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_relays:
        asyncio.run(serve_relays(args.serve_relays, args.port))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    origin_proc = subprocess.Popen(
        [sys.executable, "-m", "coordinator_service.demo.origin", "--stream", "main",
         "--port", "0"],
        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    relay_proc = None
    try:
        assert origin_proc.stdout is not None
        line = origin_proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise SystemExit(f"origin did not start: {line!r}")
        origin = match.group(1)
        port = free_port()
        relay_proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-relays", origin, "--port", str(port)],
            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        assert relay_proc.stdout is not None
        relay_proc.stdout.readline()
        wait_http(f"http://127.0.0.1:{port}/n0/live/main.m3u8")
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(
                measure(args.nodes, args.concurrency, origin, f"http://127.0.0.1:{port}",
                        Path(tmp) / "bench.db")
            )  # fmt: skip
    finally:
        for proc in (relay_proc, origin_proc):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


if __name__ == "__main__":
    main()
