"""No viewer slot, no credit, against real processes: a friend capped under the stream's bitrate.

A real coordinator process, a live ffmpeg origin at a constant 1.5 Mbit/s, and two headless node
processes: `narrow` with `--upload-cap 0.5` (500 kbit/s, under one viewer's bitrate) and `wide`
with `--upload-cap 10`. The coordinator measures the stream's slot bitrate at the origin; `narrow`
is credited nothing, gets no viewers, and its own status page says what upload limit fixes it.
"""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from coordinator_service.ledger.explain import explain_credit
from coordinator_service.ledger.tally import NO_SLOT
from coordinator_service.prober.routing import eligible_relays
from coordinator_service.storage.db import Database
from tests.fixtures.net import free_port
from tests.fixtures.origin import live_origin
from tests.trust.test_delivery_e2e import (
    GRACE_S,
    coordinator_relaying,
    db_rows,
    headless_node,
    wait_for,
)

pytestmark = pytest.mark.slow


async def test_a_friend_capped_under_the_streams_bitrate_earns_nothing_and_is_told_why(
    tmp_path: Path,
) -> None:
    stack = contextlib.AsyncExitStack()
    async with stack:
        origin = await stack.enter_async_context(
            live_origin("main", video_bitrate="1500k", cbr=True)
        )
        started = datetime.now(UTC).replace(microsecond=0)
        coord = await coordinator_relaying(stack, tmp_path, origin.url("main"))
        processes = contextlib.ExitStack()
        stack.callback(processes.close)
        nodes = {}
        for index, (name, cap) in enumerate((("narrow", "0.5"), ("wide", "10"))):
            host, port = f"127.0.0.{index + 2}", free_port()
            nodes[name] = await headless_node(
                processes, tmp_path, coord, name, (host, port), f"http://{host}:{port}", cap
            )

        def measured_and_probed() -> bool:
            # (narrow's relay, capped at a third of the stream, may well fail its checks)
            rates = db_rows(coord, "SELECT slot_kbit FROM stream_bitrate_changes")
            passed = db_rows(
                coord,
                "SELECT 1 FROM probes JOIN nodes ON nodes.id = probes.node_id"
                " WHERE probes.ok AND nodes.display_name = 'wide'",
            )
            return bool(rates) and bool(passed)

        await wait_for(measured_and_probed, 90, "a measured bitrate and a passed probe of wide")
        await asyncio.sleep(8)  # some credited time after the first passed probes
        slot_kbit = db_rows(
            coord, "SELECT slot_kbit FROM stream_bitrate_changes ORDER BY started_at DESC, id DESC"
        )[0][0]
        ids = dict(db_rows(coord, "SELECT display_name, id FROM nodes"))
        db = Database(f"sqlite+aiosqlite:///{coord.data_dir / 'coordinator.db'}")
        try:
            async with db.session() as session:
                now = datetime.now(UTC)
                report = {
                    r.display_name: r for r in await explain_credit(session, started, now, "main")
                }
                _, offered = await eligible_relays(session, "main", now, timedelta(seconds=GRACE_S))
        finally:
            await db.dispose()

        # the friend's own status page (from the host's earnings answer) says how to fix it
        mbit = f"{-(-slot_kbit // 100) / 10:g}"

        seen: list[object] = []

        def told() -> bool:
            status = httpx.get(f"http://127.0.0.1:{nodes['narrow'].status_port}/status.json")
            credit = (status.json().get("earnings") or {}).get("credit") or {}
            seen[:] = [status.json().get("earnings")]
            return any(
                lost["reason"] == "no_slot" and f"at least {mbit} Mbit/s" in lost["advice"]
                for lost in credit.get("lost", [])
            )

        print(f"\nslot bitrate {slot_kbit} kbit/s; narrow lost {report['narrow'].lost}")
        try:
            await wait_for(told, 30, "the narrow friend's status page to say what fixes it")
        except AssertionError:
            raise AssertionError(f"the status page says {seen}") from None
    assert 500 < slot_kbit < 4000, slot_kbit  # 1.5 Mbit/s of video, plus audio
    narrow, wide = report["narrow"], report["wide"]
    assert narrow.credited_seconds == 0 and dict(narrow.lost).get(NO_SLOT, 0) > 0, narrow
    assert narrow.slot_needs_kbit == slot_kbit
    assert wide.credited_seconds > 0 and NO_SLOT not in dict(wide.lost), wide
    assert [c.node_id for c in offered] == [ids["wide"]]
