"""The local status page: only its own loopback names (no DNS rebinding); this period's credit."""

from typing import Any

import httpx

from desktop_app.core.events import Credit, CreditLoss, EarningsUpdated
from desktop_app.core.node import NodeSnapshot
from desktop_app.core.status_page import StatusPage


async def test_status_page_answers_only_loopback_host_names() -> None:
    page = StatusPage(lambda: {"state": "idle", "streams": []}, port=0)
    await page.start()
    try:
        base = f"http://127.0.0.1:{page.port}"
        async with httpx.AsyncClient() as client:
            for host in (f"127.0.0.1:{page.port}", f"localhost:{page.port}"):
                ok = await client.get(f"{base}/status.json", headers={"Host": host})
                assert ok.status_code == 200 and ok.json()["state"] == "idle"
            assert (await client.get(f"{base}/status.json")).status_code == 200
            for host in (
                f"evil.example:{page.port}",  # a rebinding page's own name
                "evil.example",
                "127.0.0.1",  # no port: not how a browser on this page asks
                f"127.0.0.1:{page.port + 1}",
                f"localhost.evil.example:{page.port}",
                "",
            ):
                for path in ("/status.json", "/"):
                    refused = await client.get(f"{base}{path}", headers={"Host": host})
                    assert refused.status_code == 421, host
                    assert "idle" not in refused.text
    finally:
        await page.stop()


def snapshot_with_credit(credit: Credit | None) -> NodeSnapshot:
    return NodeSnapshot(
        state="relaying",
        node_id="n1",
        display_name="Ann",
        coordinator_url="http://127.0.0.1:1",
        coordinator_reachable=True,
        coordinator_state="healthy",
        relay_port=8090,
        public_url="http://127.0.0.1:8090",
        earnings=EarningsUpdated("USD", 12, 345, credit),
    )


async def json_and_page(snapshot: NodeSnapshot) -> tuple[dict[str, Any], str]:
    """Serve the snapshot on a real status page; return its /status.json and its HTML."""
    page = StatusPage(lambda: snapshot, port=0)
    await page.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{page.port}") as client:
            return (await client.get("/status.json")).json(), (await client.get("/")).text
    finally:
        await page.stop()


CREDIT = Credit(
    up_seconds=4 * 3600,
    credited_seconds=3 * 3600 + 5 * 60,
    lost=(
        CreditLoss(
            "unverified",
            3000,
            "your relay was not reachable for checks",
            "press Fix it in the app <or forward the port>",
        ),
        CreditLoss("not_live", 300, "the stream was not live", ""),
        CreditLoss("moon_phase", 0, "", ""),
    ),
)


async def test_status_page_says_what_was_credited_and_how_to_fix_the_rest() -> None:
    data, text = await json_and_page(snapshot_with_credit(CREDIT))
    credit = data["earnings"]["credit"]
    assert (credit["up_seconds"], credit["credited_seconds"]) == (14400, 11100)
    assert [(x["reason"], x["seconds"], x["advice"]) for x in credit["lost"]][:2] == [
        ("unverified", 3000, "press Fix it in the app <or forward the port>"),
        ("not_live", 300, ""),
    ]
    assert "Credited this period: 3 h 5 min of 4 h 0 min online" in text
    assert "50 min not credited: your relay was not reachable for checks" in text
    assert "How to fix:</i> press Fix it in the app &lt;or forward the port&gt;" in text
    assert "5 min not credited: the stream was not live</li>" in text  # nothing to fix
    assert "not credited: moon phase" in text  # a code this app does not know: still said


async def test_status_page_without_the_hosts_explanation_says_nothing_of_it() -> None:
    data, text = await json_and_page(snapshot_with_credit(None))
    assert data["earnings"]["credit"] is None
    assert "Credited this period" not in text and "earned 0.12 USD today" in text
