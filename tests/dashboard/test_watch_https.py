"""The watch page over HTTPS plays from HTTPS relays in a real Chromium, and keeps playing when
the relay serving it is killed (the stall is measured into artifacts/watch-failover-https.json).

The coordinator sits behind a TLS-terminating reverse proxy (as the host guide says), with a
relay domain and pebble as its ACME CA; two real nodes get certificates for their names and
serve HTTPS. Chromium resolves the test names to 127.0.0.1 and trusts only the proxy's test
certificate and pebble's intermediate (by their public keys), so a plain-HTTP relay or a
certificate for another name would fail in the page.
"""

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import signal
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from coordinator_service.dashboard.routes.public import hls_vendored
from tests.dashboard.browser import chromium, screenshot, wait_player
from tests.dashboard.test_watch_failover import STALL_METER
from tests.fixtures.balancer import round_robin_balancer
from tests.fixtures.net import free_port
from tests.fixtures.node import RunningNode, run_node
from tests.fixtures.origin import live_origin
from tests.fixtures.pebble import self_signed
from tests.fixtures.relay_tls import ZONE, relay_ca

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
COORD_NAME = "coord.test"


@pytest.fixture(scope="module", autouse=True)
def _hls_js_built() -> None:
    if not hls_vendored():
        subprocess.run([str(REPO_ROOT / "scripts" / "build-frontend")], check=True, timeout=300)


def _spki_sha256(pem: str) -> str:
    """Chromium's --ignore-certificate-errors-spki-list form: base64 SHA-256 of the SPKI."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _wait_https_relays(coord: Any, count: int, timeout: float = 90) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        nodes = coord.admin_get("/api/v1/admin/nodes")
        urls = [n["relay_url"] for n in nodes if n["relay_url"].startswith("https://")]
        if len(urls) >= count:
            return sorted(urls)
        assert time.monotonic() < deadline, f"{nodes}\n{coord.log()[-3000:]}"
        time.sleep(0.3)


def _wait_offered(coord: Any, count: int, timeout: float = 90) -> None:
    """Wait until the secure watch playlist offers `count` relays (each probed at its https URL)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{coord.url}/watch/main.m3u8?secure=1", timeout=10)
        offered = set(re.findall(r'STREAM-INF:.*PATHWAY-ID="([^"]+)"', answer.text)) - {"origin"}
        if len(offered) >= count:
            return
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.3)


# Once (CI, 2026-11-30, two other jobs on the 2 cores) hls.js gave up on the killed relay and the
# page started over instead of steering on; it passed 4 of 4 runs before and 1 of 1 since.
@pytest.mark.flaky(reruns=1)
async def test_the_watch_page_over_https_plays_from_https_relays(
    tmp_path: Path, artifacts_dir: Path
) -> None:
    front_cert, front_key = self_signed(tmp_path, "front", [COORD_NAME])
    front_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    front_context.load_cert_chain(front_cert, front_key)
    port = free_port()
    public = f"https://{COORD_NAME}:{port}"
    async with contextlib.AsyncExitStack() as stack:
        origin = await stack.enter_async_context(live_origin("main"))
        enter = stack.enter_context
        ca, coord, _ = await asyncio.to_thread(
            enter,
            relay_ca(
                tmp_path,
                "--heartbeat-interval",
                "1",
                "--probe-interval",
                "1",
                "--allow-private-relays",
                "--public-url",
                public,
            ),
        )
        coord.cli("stream", "add", "main", "--origin", origin.url("main"), "--pool-per-hour", "36")
        nodes: dict[str, RunningNode] = {}
        for name in ("Sam", "Alex"):
            nodes[name] = await asyncio.to_thread(
                enter,
                run_node(
                    tmp_path,
                    coord.invite("--public-url", coord.url),  # nodes talk to it directly
                    "--name",
                    name,
                    "--payout-handle",
                    f"@{name.lower()}",
                    data_dir=tmp_path / name,
                ),
            )
        relays = await asyncio.to_thread(_wait_https_relays, coord, 2)
        await asyncio.to_thread(_wait_offered, coord, 2)  # a relay counts once probed there
        assert all(f".{ZONE}:" in url for url in relays), relays
        # the reverse proxy: HTTPS on `port` for coord.test, X-Forwarded-Proto: https
        proxy = await asyncio.to_thread(enter, _front(coord.url, front_context, port))
        assert proxy.url.startswith("https://")

        spki = ",".join(_spki_sha256(p) for p in (front_cert.read_text(), ca.intermediate_pem()))
        browser = await stack.enter_async_context(
            chromium(
                [
                    f"--host-resolver-rules=MAP {COORD_NAME} 127.0.0.1, MAP *.{ZONE} 127.0.0.1",
                    f"--ignore-certificate-errors-spki-list={spki}",
                ]
            )
        )
        problems: list[str] = []
        media: list[str] = []
        viewer = await browser.new_page(viewport={"width": 1024, "height": 768})
        await viewer.add_init_script(STALL_METER)
        viewer.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        viewer.on("pageerror", lambda exc: problems.append(str(exc)))
        viewer.on("request", lambda r: media.append(r.url) if "/live/" in r.url else None)
        await viewer.goto(f"{public}/watch/main")
        assert await viewer.evaluate("location.protocol") == "https:"
        first = await wait_player(
            viewer, lambda s: s.get("segments", 0) >= 3 and s["time"] > 0, "loaded segments", 60
        )
        await wait_player(viewer, lambda s: s["time"] > first["time"] + 2, "played on")
        await screenshot(viewer, artifacts_dir / "screenshots" / "dashboard", "11-watch-https")
        relay_hosts = {u.split("/live/")[0] for u in relays}
        assert media, "the page fetched no media"
        assert all(u.startswith("https://") for u in media), [u for u in media if "http:" in u]
        assert any(u.split("/live/")[0] in relay_hosts for u in media), media[:5]
        assert not [p for p in problems if "Mixed Content" in p or "ERR_CERT" in p], problems
        assert "origin" not in first["pathways"]  # the origin is plain HTTP: not offered here

        # kill the relay serving the page: it plays on from the other HTTPS relay, no reload
        by_id = {
            n["node_id"]: nodes[n["display_name"]]
            for n in await asyncio.to_thread(coord.admin_get, "/api/v1/admin/nodes")
        }
        playing = await wait_player(viewer, lambda s: s["pathway"] in by_id, "named its relay")
        serving = playing["pathway"]
        await viewer.evaluate("() => { window.__marker = 1; window.__stall.longest = 0; }")
        killed_at = time.monotonic()
        await asyncio.to_thread(_kill, by_id[serving])
        moved = await wait_player(
            viewer,
            lambda s: s["pathway"] in by_id and s["pathway"] != serving,
            "moved to the other relay",
        )
        switched_s = time.monotonic() - killed_at
        played = await wait_player(
            viewer, lambda s: s["time"] > moved["time"] + 4, "played on from the other relay"
        )
        stall_ms = await viewer.evaluate(
            "() => Math.max(window.__stall.longest, performance.now() - window.__stall.last)"
        )
        assert played["marker"] == 1 and played["restarts"] == 0, "the page started over"
        assert all(u.startswith("https://") for u in media)
        measured = {
            "stall_after_kill_ms": round(stall_ms),
            "seconds_until_other_relay": round(switched_s, 2),
        }
        (artifacts_dir / "watch-failover-https.json").write_text(json.dumps(measured) + "\n")
        print("watch failover over HTTPS:", measured)


def _kill(node: RunningNode) -> None:
    with contextlib.suppress(ProcessLookupError):
        node.process.send_signal(signal.SIGKILL)
    node.process.wait(timeout=10)


def _front(backend: str, context: ssl.SSLContext, port: int) -> Any:
    """The TLS-terminating proxy on 127.0.0.1:`port` (the port is in the public URL)."""
    return round_robin_balancer([backend], context, port=port)
