"""Proof of delivery against real processes: relays that cheat viewers, caught by their peers.

A real coordinator process, a live ffmpeg origin, three honest headless node processes whose
relays (and so their peer audits) live on 127.0.0.2–4 (one reached only through a forwarder
adding 200 ms per round trip), and relays that tell the coordinator's
address (127.0.0.1) from everyone else's: one answers others 404 (`selective`), one fetches
from the origin only when the coordinator asks (`ondemand`), one sends others a trickle
(`trickle`), plus an honest relay claiming 10,000,000 kbit (`greedy`). Viewers on 127.0.0.20–24
load segments from every relay and send beacons. Measured and printed: each cheat's detection
time and audit rounds, and false positives against the honest nodes.
"""

import asyncio
import contextlib
import re
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import httpx
import m3u8
import pytest

from coordinator_service.prober.routing import eligible_relays
from coordinator_service.prober.viewer_reports import issue_report_token
from coordinator_service.storage.db import Database
from tests.fixtures.coordinator import RunningCoordinator, run_coordinator
from tests.fixtures.delay_proxy import delay_proxy
from tests.fixtures.net import free_port
from tests.fixtures.node import RunningNode, run_node
from tests.fixtures.origin import live_origin
from tests.trust.nodes import BeatingNode
from tests.trust.picky_relays import PickyRelay

pytestmark = pytest.mark.slow

HONEST = ("honest1", "honest2", "honest3")
SLOW_LINK = "honest3"
FLAGGED_CHEATS = ("selective", "ondemand")
GRACE_S = 5  # heartbeat interval 1 s × grace factor 5
VIEWERS = [f"127.0.0.{20 + i}" for i in range(5)]


def db_rows(coord: RunningCoordinator, sql: str, *params: object) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(coord.data_dir / "coordinator.db", timeout=30)) as db:
        return db.execute(sql, params).fetchall()


def parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def wait_for(predicate, timeout: float, what: str) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < timeout:
        if await asyncio.to_thread(predicate):
            return loop.time() - started
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


async def coordinator_relaying(
    stack: contextlib.AsyncExitStack, tmp_path: Path, origin_url: str
) -> RunningCoordinator:
    """A real coordinator (probes every 2 s, beats every 1 s, private relays allowed) with the
    stream `main` from `origin_url`; stopped with `stack`."""
    coord = await asyncio.to_thread(
        stack.enter_context,
        run_coordinator(
            tmp_path,
            "--probe-interval", "2",
            "--heartbeat-interval", "1",
            "--allow-private-relays",
            env={"STREAMR_GRACE_FACTOR": str(GRACE_S)},  # a busy test machine beats late
        ),
    )  # fmt: skip
    await asyncio.to_thread(
        coord.cli, "stream", "add", "main", "--origin", origin_url, "--pool-per-hour", "36"
    )
    return coord


async def headless_node(
    processes: contextlib.ExitStack,
    tmp_path: Path,
    coord: RunningCoordinator,
    name: str,
    relay: tuple[str, int],
    public_url: str,
    upload_cap_mbit: str,
) -> RunningNode:
    """A headless node process joined with a fresh invite, its relay on `relay` (host, port)."""
    (tmp_path / name).mkdir()
    return await asyncio.to_thread(
        processes.enter_context,
        run_node(
            tmp_path / name,
            await asyncio.to_thread(coord.invite),
            "--name", name,
            "--relay-port", str(relay[1]),
            "--public-url", public_url,
            "--upload-cap", upload_cap_mbit,
            env={"STREAMR_NODE_RELAY_HOST": relay[0]},
        ),
    )  # fmt: skip


async def offered_weights(coord: RunningCoordinator) -> dict[str, int]:
    """The relays /watch offers right now and their weights, read from the coordinator's DB."""
    db = Database(f"sqlite+aiosqlite:///{coord.data_dir / 'coordinator.db'}")
    try:
        async with db.session() as session:
            _, candidates = await eligible_relays(
                session, "main", datetime.now(UTC), timedelta(seconds=GRACE_S)
            )
    finally:
        await db.dispose()
    return {c.relay_url: c.weight for c in candidates}


async def view_once(client: httpx.AsyncClient, relay_url: str) -> list[tuple[bool, int, int]]:
    """Load the playlist and its newest two segments like a player; (ok, bytes, ms) each."""
    outcomes = []
    try:
        response = await client.get(f"{relay_url}/live/main.m3u8")
        if response.status_code != 200:
            return [(False, 0, 0), (False, 0, 0)]
        playlist = m3u8.loads(response.text)
        uris = [urljoin(str(response.url), s.uri) for s in playlist.segments[-2:]]
    except httpx.HTTPError:
        return [(False, 0, 0), (False, 0, 0)]
    for uri in uris:
        started = time.monotonic()
        try:
            async with asyncio.timeout(6):  # a player gives up on a segment that crawls
                got = await client.get(uri)
            ms = int((time.monotonic() - started) * 1000)
            outcomes.append((got.status_code == 200, len(got.content), ms))
        except (httpx.HTTPError, TimeoutError):
            outcomes.append((False, 0, int((time.monotonic() - started) * 1000)))
    return outcomes or [(False, 0, 0)]


async def viewer(coord_url: str, address: str, relays: dict[str, str], secret: bytes) -> None:
    """A viewer that tries every relay (as steering failover would) and beacons the outcome."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(transport=transport, timeout=5) as client:
        token = issue_report_token(secret, "main", list(relays), datetime.now(UTC))
        while True:
            reports = [
                {"pathway": node_id, "uri": "", "ok": ok, "bytes": size, "ms": ms}
                for node_id, url in relays.items()
                for ok, size, ms in await view_once(client, url)
            ]
            with contextlib.suppress(httpx.HTTPError):
                answer = await client.post(
                    f"{coord_url}/api/v1/watch/reports", json={"token": token, "reports": reports}
                )
                if answer.status_code == 202:
                    token = answer.json()["token"]
            await asyncio.sleep(1)


async def test_relays_cheating_viewers_are_caught_and_honest_ones_are_not(tmp_path: Path):
    stack = contextlib.AsyncExitStack()
    async with stack:
        origin = await stack.enter_async_context(live_origin("main"))
        coord = await coordinator_relaying(stack, tmp_path, origin.url("main"))
        processes = contextlib.ExitStack()
        stack.callback(processes.close)
        relays: dict[str, str] = {}
        for i, name in enumerate(HONEST):
            host, port = f"127.0.0.{i + 2}", free_port()
            public = f"http://{host}:{port}"
            if name == SLOW_LINK:  # everyone reaches it through 200 ms more round trip
                proxy_port = free_port()
                stack.enter_context(delay_proxy([(("127.0.0.9", proxy_port), (host, port))], 0.1))
                public = f"http://127.0.0.9:{proxy_port}"
            await headless_node(processes, tmp_path, coord, name, (host, port), public, "100")
        await wait_for(
            lambda: len(db_rows(coord, "SELECT id FROM nodes")) == len(HONEST), 30, "honest joins"
        )
        ids = dict(db_rows(coord, "SELECT display_name, id FROM nodes"))
        for name in HONEST:
            relays[ids[name]] = db_rows(
                coord, "SELECT relay_url FROM nodes WHERE id = ?", ids[name]
            )[0][0]
        cheats: dict[str, BeatingNode] = {}
        joined_at: dict[str, float] = {}
        for behaviour in ("selective", "ondemand", "trickle", "greedy"):
            relay = await stack.enter_async_context(
                PickyRelay(origin.base_url, "", "honest" if behaviour == "greedy" else behaviour)
            )
            node = BeatingNode(coord.url, behaviour)
            stack.push_async_callback(node.close)
            node.mirror = relay
            await node.join(await asyncio.to_thread(coord.invite), relay.url)
            if behaviour == "greedy":
                node.capacity_kbit = 10_000_000
            node.start_beating()
            cheats[behaviour] = node
            joined_at[behaviour] = time.monotonic()
            relays[node.node_id] = relay.url

        # the report secret exists once the endpoint was used; viewers get tokens made with it
        async with httpx.AsyncClient() as client:
            await client.post(
                f"{coord.url}/api/v1/watch/reports",
                json={"token": "x", "reports": [{"pathway": "origin", "ok": True}]},
            )
        secret = bytes.fromhex(
            db_rows(coord, "SELECT value FROM app_settings WHERE key = 'viewer_report_secret'")[0][
                0
            ]
        )
        viewers = [asyncio.create_task(viewer(coord.url, a, relays, secret)) for a in VIEWERS]

        def flagged(name: str) -> bool:
            return bool(
                db_rows(coord, "SELECT flagged FROM nodes WHERE id = ?", cheats[name].node_id)[0][0]
            )

        def credit_lost(name: str, prefix: str) -> bool:
            return bool(
                db_rows(
                    coord,
                    "SELECT 1 FROM flag_intervals WHERE node_id = ? AND reason LIKE ?",
                    cheats[name].node_id,
                    f"{prefix}%",
                )
            )

        detection: dict[str, float] = {}
        try:
            for name in FLAGGED_CHEATS:
                await wait_for(lambda n=name: flagged(n), 120, f"{name} to be flagged")
                detection[name] = time.monotonic() - joined_at[name]
            await wait_for(lambda: credit_lost("trickle", "slow:"), 120, "trickle to lose credit")
            detection["trickle"] = time.monotonic() - joined_at["trickle"]
            await wait_for(
                lambda: credit_lost("selective", "viewers:"), 60, "viewers' evidence on selective"
            )
            # /watch: no cheat gets a viewer; the greedy claim does not take most of them
            offered = await offered_weights(coord)
            async with httpx.AsyncClient(timeout=5) as client:
                picks: Counter[str] = Counter()
                for _ in range(200):
                    # the pathway a viewer's player starts on (steering's default pathway)
                    answer = await client.get(f"{coord.url}/watch/main.m3u8")
                    picks[_first_pathway(answer.text)] += 1
        finally:
            for task in viewers:
                task.cancel()
            await asyncio.gather(*viewers, return_exceptions=True)
        names = {cheats[n].node_id: n for n in cheats} | {ids[n]: n for n in HONEST}
        shares = {names[node]: count for node, count in picks.items() if node in names}
        assert not {"selective", "ondemand", "trickle"} & set(shares), picks
        assert shares.get("greedy", 0) < 100, (shares, offered)

        # each flagged cheat: within three audit rounds that failed it; honest nodes never flagged
        rounds = {}
        for name in FLAGGED_CHEATS:
            node_id = cheats[name].node_id
            flag_at = db_rows(
                coord,
                "SELECT min(started_at) FROM flag_intervals WHERE node_id = ?"
                " AND reason NOT LIKE 'viewers:%' AND reason NOT LIKE 'slow:%'",
                node_id,
            )[0][0]
            failed_rounds = db_rows(  # rounds judged, each one Probe row per agreeing auditor
                coord,
                "SELECT count(DISTINCT at) FROM probes WHERE node_id = ? AND NOT ok"
                " AND detail LIKE 'peer audit%' AND reason != 'timeout' AND at <= ?",
                node_id,
                flag_at,
            )[0][0]
            rounds[name] = failed_rounds
            assert 1 <= failed_rounds <= 3, (name, failed_rounds)
        honest_ids = [ids[n] for n in HONEST] + [cheats["greedy"].node_id]
        marks = ",".join("?" * len(honest_ids))
        flags = db_rows(
            coord,
            f"SELECT node_id, reason FROM flag_intervals WHERE node_id IN ({marks})",
            *honest_ids,
        )
        failed_audits = db_rows(
            coord,
            f"SELECT count(*) FROM peer_audits WHERE node_id IN ({marks}) AND counted"
            " AND reason != 'ok'",
            *honest_ids,
        )[0][0]  # fmt: skip
        audits_done = db_rows(
            coord, "SELECT count(*) FROM peer_audits WHERE reported_at IS NOT NULL"
        )[0][0]
        print(
            f"\ndetection seconds { ({k: round(v, 1) for k, v in detection.items()}) }, "
            f"failed audit rounds before flag {rounds}, audits answered {audits_done}, "
            f"honest flag spans {len(flags)}, failed counted audits of honest nodes "
            f"{failed_audits}, /watch picks {shares}"
        )
        assert flags == []


def _first_pathway(playlist: str) -> str:
    """The PATHWAY-ID of the playlist's content-steering tag: a node id, or "origin"."""
    found = re.search(r'#EXT-X-CONTENT-STEERING:.*PATHWAY-ID="([^"]+)"', playlist)
    assert found, playlist
    return found.group(1)
