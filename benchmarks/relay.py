"""Relay figures, side by side with nginx serving the same segment files.

    .venv/bin/python benchmarks/relay.py [--quick] [--only-a | --only-b]

(a) saturation: 200 connections fetching the newest ~500 KB segment back to back:
    throughput ratio node/nginx (target >= 0.75) and node p99 time to first byte (< 50 ms);
(b) 200 viewers following the live 4 Mbit/s stream as players do (playlist every target
    duration, each new segment once): CPU per 100 viewers and RSS, node vs nginx;
(c) relay lag, origin listing -> servable at the node, p95 (< 200 ms with 1 s segments).

The node relay and nginx (1 worker) each run in their own process; load comes from a separate
client process, so the server's CPU is measured alone (from /proc).
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING or "--serve-relay" not in sys.argv:
    # the relay process imports only what a node needs (its RSS is the relay's, not ours)
    import aiohttp
    import m3u8

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TICK = os.sysconf("SC_CLK_TCK")
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen 127.0.0.1:{port};
        location /live/ {{ alias {folder}/; }}
    }}
}}
"""


# --- process measurements -------------------------------------------------------------------


def _family(pid: int) -> list[int]:
    """The pid and its children (nginx master + worker)."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry))
    return pids


def cpu_seconds(pid: int, kernel: bool | None = None) -> float:
    """CPU time of the process and its children: user + kernel, or only kernel / only user."""
    total = 0
    for p in _family(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = int(fields[11]), int(fields[12])
        total += user + system if kernel is None else system if kernel else user
    return total / TICK


def rss_mb(pid: int) -> float:
    total = 0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_nginx(folder: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    (root / "tmp").mkdir()
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, port=port, folder=folder))
    os.chmod(folder, 0o755)
    os.chmod(folder.parent, 0o755)  # nginx workers run as nobody
    proc = subprocess.Popen(
        ["nginx", "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, port, root


def start_relay(origin_url: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-relay", origin_url],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[-1])
    return proc, port


async def serve_relay(origin_url: str) -> None:
    from desktop_app.app import skip_httpx_cli

    skip_httpx_cli()  # as streamr-node does first
    from desktop_app.core.relay.puller import PullSettings
    from desktop_app.core.relay.relay import Relay
    from desktop_app.core.relay.server import ServerLimits

    relay = Relay(
        host="127.0.0.1",
        port=0,
        settings=PullSettings(grace_s=3600, stall_factor=3600),
        limits=ServerLimits(
            max_connections=4096,
            max_per_address=4096,  # the 200 load connections all come from 127.0.0.1
            send_buffer_bytes=int(os.environ.get("BENCH_SNDBUF", 256 * 1024)) or None,
        ),
    )
    await relay.start()
    await relay.set_streams({"bench": origin_url})
    print(f"port {relay.port}", flush=True)
    await asyncio.Event().wait()


# --- load clients (run in their own process) ----------------------------------------------------


async def saturate(url: str, connections: int, seconds: float) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=connections)
    ttfb: list[float] = []
    total = 0
    errors = 0  # answers other than 200 (e.g. the segment left the window): the run is void
    async with aiohttp.ClientSession(connector=connector) as session:
        end = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal total, errors
            while time.monotonic() < end:
                start = time.monotonic()
                async with session.get(url) as response:
                    ttfb.append(time.monotonic() - start)
                    errors += response.status != 200
                    async for chunk in response.content.iter_any():
                        total += len(chunk)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    ttfb.sort()
    return {
        "mb_per_s": total / elapsed / 1e6,
        "requests": len(ttfb),
        "errors": errors,
        "ttfb_p50_ms": ttfb[len(ttfb) // 2] * 1000,
        "ttfb_p99_ms": ttfb[int(len(ttfb) * 0.99)] * 1000,
    }


async def probe(url: str, _count: int, seconds: float) -> dict[str, float]:
    """One request at a time (a newly arriving viewer) while the load runs: TTFB percentiles."""
    ttfb: list[float] = []
    async with aiohttp.ClientSession() as session:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.monotonic()
            async with session.get(url) as response:
                ttfb.append(time.monotonic() - start)
                await response.read()
            await asyncio.sleep(0.02)
    ttfb.sort()
    return {
        "ttfb_p50_ms": ttfb[len(ttfb) // 2] * 1000,
        "ttfb_p99_ms": ttfb[int(len(ttfb) * 0.99)] * 1000,
        "requests": len(ttfb),
    }


async def follow(url: str, viewers: int, seconds: float) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=viewers * 2)
    got = 0
    errors = 0
    segments = 0
    async with aiohttp.ClientSession(connector=connector) as session:
        end = time.monotonic() + seconds

        async def viewer() -> None:
            nonlocal got, errors, segments
            seen: set[str] = set()
            await asyncio.sleep(random.uniform(0, 1))
            while time.monotonic() < end:
                try:
                    async with session.get(url) as response:
                        if response.status != 200:
                            errors += 1
                        playlist = m3u8.loads(await response.text())
                    uris = [s.uri for s in playlist.segments]
                    new = [u for u in uris[-3:] if u not in seen]
                    for uri in new:
                        seen.add(uri)
                        async with session.get(
                            str(aiohttp.client.URL(url).join(aiohttp.client.URL(uri)))
                        ) as response:
                            body = await response.read()
                            if response.status != 200:
                                errors += 1
                                continue
                            got += len(body)
                            segments += 1
                except (aiohttp.ClientError, ValueError):
                    errors += 1
                await asyncio.sleep(max(0.5, float(playlist.target_duration or 1)))

        await asyncio.gather(*(viewer() for _ in range(viewers)))
    return {"mb": got / 1e6, "errors": errors, "segments": segments}


def run_client(mode: str, url: str, count: int, seconds: float) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--client", mode, url, str(count), str(seconds)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measured(
    pid: int, mode: str, url: str, count: int, seconds: float, with_probe: bool = False
) -> dict[str, float]:
    cpu0, sys0 = cpu_seconds(pid), cpu_seconds(pid, kernel=True)
    start = time.monotonic()
    if with_probe:  # a separate process arriving as one more viewer during the load
        with ThreadPoolExecutor(2) as pool:
            load = pool.submit(run_client, mode, url, count, seconds)
            time.sleep(1.0)
            late = pool.submit(run_client, "probe", url, 1, seconds - 2.0)
            result = load.result()
            for key, value in late.result().items():
                result[f"probe_{key}"] = value
    else:
        result = run_client(mode, url, count, seconds)
    wall = time.monotonic() - start
    result["cpu_percent"] = (cpu_seconds(pid) - cpu0) / wall * 100
    result["kernel_percent"] = (cpu_seconds(pid, kernel=True) - sys0) / wall * 100
    result["wall_s"] = wall
    result["rss_mb"] = rss_mb(pid)
    return result


# --- (c) lag --------------------------------------------------------------------------------


async def lag(origin_url: str, node_url: str, seconds: float) -> list[float]:
    """For each new origin segment: time from first listed at the origin to listed at the node."""
    origin_seen: dict[str, float] = {}  # sha prefix -> time listed at origin
    node_seen: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        end = time.monotonic() + seconds

        async def watch_origin() -> None:
            known: set[str] = set()
            while time.monotonic() < end:
                async with session.get(origin_url) as response:
                    playlist = m3u8.loads(await response.text())
                now = time.monotonic()
                for segment in playlist.segments:
                    if segment.uri not in known:
                        known.add(segment.uri)
                        seg_url = origin_url.rsplit("/", 1)[0] + "/" + segment.uri
                        async with session.get(seg_url) as response:
                            digest = hashlib.sha256(await response.read()).hexdigest()[:16]
                        origin_seen.setdefault(digest, now)
                await asyncio.sleep(0.01)

        async def watch_node() -> None:
            while time.monotonic() < end:
                async with session.get(node_url) as response:
                    text = await response.text() if response.status == 200 else ""
                now = time.monotonic()
                for segment in m3u8.loads(text).segments if text else []:
                    node_seen.setdefault(segment.uri.rsplit("-", 1)[-1].split(".")[0], now)
                await asyncio.sleep(0.01)

        await asyncio.gather(watch_origin(), watch_node())
    first = min(origin_seen.values(), default=0) + 3.0  # skip what was listed before we looked
    return sorted(
        max(0.0, node_seen[d] - t) for d, t in origin_seen.items() if d in node_seen and t > first
    )


# --- main -----------------------------------------------------------------------------------


def _print_a(
    size: int, seconds: float, sat_node: dict[str, float], sat_nginx: dict[str, float]
) -> None:
    ratio = sat_node["mb_per_s"] / sat_nginx["mb_per_s"]
    print(f"segment size {size / 1000:.0f} KB, {seconds:.0f} s per saturation run")
    print(
        f"(a) saturation 200 conns: node {sat_node['mb_per_s']:.0f} MB/s, "
        f"nginx {sat_nginx['mb_per_s']:.0f} MB/s, ratio {ratio:.2f} (target >= 0.75); "
        f"TTFB p99 inside the 200: node {sat_node['ttfb_p99_ms']:.0f} ms, "
        f"nginx {sat_nginx['ttfb_p99_ms']:.0f} ms; one more viewer arriving during the load: "
        f"node p99 {sat_node['probe_ttfb_p99_ms']:.0f} ms (target < 50), "
        f"p50 {sat_node['probe_ttfb_p50_ms']:.0f} ms, nginx p99 "
        f"{sat_nginx['probe_ttfb_p99_ms']:.0f} ms"
    )
    print(
        f"    server CPU per segment request: node "
        f"{_cpu_ms(sat_node):.2f} ms, nginx {_cpu_ms(sat_nginx):.2f} ms; "
        f"probe requests: node {sat_node['probe_requests']:.0f}, "
        f"nginx {sat_nginx['probe_requests']:.0f}; answers other than 200: node "
        f"{sat_node['errors']:.0f}, nginx {sat_nginx['errors']:.0f}"
    )


def _cpu_ms(result: dict[str, float]) -> float:
    requests = result["requests"] + result["probe_requests"]
    return result["cpu_percent"] * result["wall_s"] * 10 / max(1, requests)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--only-a", action="store_true", help="only (a), the saturation figures")
    parser.add_argument("--only-b", action="store_true", help="only (b), the live-viewer figures")
    parser.add_argument("--serve-relay", metavar="ORIGIN_URL")
    parser.add_argument("--client", nargs=4, metavar=("MODE", "URL", "COUNT", "SECONDS"))
    args = parser.parse_args()
    if args.serve_relay:
        if os.environ.get("BENCH_PROFILE"):  # cProfile stats of the relay, written at SIGTERM
            import cProfile
            import signal

            profiler = cProfile.Profile()

            def dump(*_: object) -> None:
                profiler.disable()
                profiler.dump_stats(os.environ["BENCH_PROFILE"])
                os._exit(0)

            signal.signal(signal.SIGTERM, dump)
            profiler.enable()
        if os.environ.get("BENCH_UVLOOP"):
            import uvloop

            uvloop.run(serve_relay(args.serve_relay))
        else:
            asyncio.run(serve_relay(args.serve_relay))
        return 0
    if args.client:
        mode, url, count, seconds = args.client
        func = {"saturate": saturate, "follow": follow, "probe": probe}[mode]
        print(json.dumps(asyncio.run(func(url, int(count), float(seconds)))))
        return 0
    if not shutil.which("nginx"):
        print("nginx is needed for the side-by-side figures")
        return 1
    asyncio.run(run_benchmark(args.quick, args.only_a, args.only_b))
    return 0


async def run_benchmark(quick: bool, only_a: bool = False, only_b: bool = False) -> None:
    from coordinator_service.demo.origin import LiveOrigin

    seconds = 4.0 if quick else 8.0
    origin = LiveOrigin(
        ("bench",),
        size="320x180",  # cheap to encode; CBR padding still makes 4 Mbit/s
        video_bitrate="4000k",
        cbr=True,
        srs_master=False,
        segment_query=False,
        list_size=6,
    )
    await origin.start()
    nginx, nginx_port, nginx_root = start_nginx(origin.workdir / "bench")
    relay, relay_port = start_relay(origin.url())
    try:
        node_list = f"http://127.0.0.1:{relay_port}/live/bench.m3u8"
        nginx_list = f"http://127.0.0.1:{nginx_port}/live/bench.m3u8"
        await asyncio.sleep(4)

        # (c) first, while nothing else loads the machine
        lags = (
            []
            if only_a or only_b
            else await asyncio.to_thread(
                lambda: asyncio.run(lag(origin.url(), node_list, 12 if quick else 30))
            )
        )
        p95 = lags[int(len(lags) * 0.95)] * 1000 if lags else float("nan")

        # (a) newest segment, back to back (same bytes from both servers)
        if not only_b:
            playlist = m3u8.loads(Path(origin.workdir / "bench" / "bench.m3u8").read_text())
            newest = origin.workdir / "bench" / playlist.segments[-1].uri
            # a copy the origin does not delete: it drops its own segments after ~6 s, and nginx
            # answered 404 for the rest of its run
            kept = newest.with_name(f"saturation-{newest.name}")
            shutil.copyfile(newest, kept)
            kept.chmod(0o644)
            size = kept.stat().st_size
            # the origin serves from this process's loop: measure in threads so it keeps answering
            nginx_segment = f"http://127.0.0.1:{nginx_port}/live/{kept.name}"
            sat_nginx = await asyncio.to_thread(
                measured, nginx.pid, "saturate", nginx_segment, 200, seconds, True
            )
            # the node's newest segment when its run starts: the window keeps a segment ~14 s
            # (2 x listed + 2), and the nginx run before took longer than that
            async with aiohttp.ClientSession() as session, session.get(node_list) as response:
                node_playlist = m3u8.loads(await response.text())
            node_segment = f"http://127.0.0.1:{relay_port}/live/{node_playlist.segments[-1].uri}"
            sat_node = await asyncio.to_thread(
                measured, relay.pid, "saturate", node_segment, 200, seconds, True
            )
            if only_a:
                _print_a(size, seconds, sat_node, sat_nginx)
                return

        # (b) 200 viewers following live
        follow_s = 10.0 if quick else 20.0
        idle_rss = rss_mb(relay.pid)
        cpu0, start = cpu_seconds(relay.pid), time.monotonic()
        await asyncio.sleep(5)  # the node's CPU with no viewer: pulling the stream
        pulling = (cpu_seconds(relay.pid) - cpu0) / (time.monotonic() - start) * 100
        fol_nginx = await asyncio.to_thread(
            measured, nginx.pid, "follow", nginx_list, 200, follow_s
        )
        fol_node = await asyncio.to_thread(measured, relay.pid, "follow", node_list, 200, follow_s)
    finally:
        relay.terminate()
        nginx.terminate()
        relay.wait()
        nginx.wait()
        shutil.rmtree(nginx_root, ignore_errors=True)
        await origin.close()

    if not only_b:
        _print_a(size, seconds, sat_node, sat_nginx)
    per100_node = fol_node["cpu_percent"] / 2
    per100_nginx = fol_nginx["cpu_percent"] / 2
    print(
        f"(b) 200 live viewers: node CPU {per100_node:.1f} % of a core per 100 viewers "
        f"(in the kernel {fol_node['kernel_percent'] / 2:.1f}; pulling the stream alone "
        f"{pulling:.1f} % of a core; target <= 2x nginx), "
        f"RSS {fol_node['rss_mb']:.0f} MB (target <= 40; idle "
        f"{idle_rss:.0f} MB{'' if only_b else ' after (a)'}); nginx CPU "
        f"{per100_nginx:.1f} % per 100 (kernel {fol_nginx['kernel_percent'] / 2:.1f}), "
        f"RSS {fol_nginx['rss_mb']:.0f} MB; CPU ratio "
        f"{per100_node / max(per100_nginx, 1e-9):.2f}; "
        f"per viewer node {fol_node['mb'] * 8 / 200 / follow_s:.2f} Mbit/s, "
        f"nginx {fol_nginx['mb'] * 8 / 200 / follow_s:.2f} Mbit/s, "
        f"segments {fol_node['segments']:.0f}/{fol_nginx['segments']:.0f}, "
        f"errors {fol_node['errors']:.0f}/{fol_nginx['errors']:.0f}"
    )
    if not only_b:
        print(
            f"(c) relay lag origin listing -> servable at node: p95 {p95:.0f} ms, "
            f"median {statistics.median(lags) * 1000 if lags else float('nan'):.0f} ms "
            f"over {len(lags)} segments (target p95 < 200 ms)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
