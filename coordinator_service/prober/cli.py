"""`probes list` of streamr-coordinator: the newest probe results, of all nodes or one."""

import argparse
import asyncio
import json

from coordinator_service.cli_common import add_db_options, format_table, format_when, open_database
from coordinator_service.ledger.earnings import node_probes
from streamr_protocol.models import ProbeRecord

__all__ = ["register"]


def _cmd_list(args: argparse.Namespace) -> int:
    async def run() -> list[ProbeRecord]:
        async with open_database(args) as (_, db), db.session() as session:
            return await node_probes(session, args.node, args.limit)

    records = asyncio.run(run())
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return 0
    if not records:
        print("no probes yet" + (f" of node {args.node}" if args.node else ""))
        return 0
    print(
        format_table(
            ["AT", "NODE", "STREAM", "RESULT", "REASON", "MS", "DETAIL"],
            [
                [
                    format_when(r.at),
                    r.node_id,
                    r.stream or "-",
                    "pass" if r.ok else "FAIL",
                    r.reason,
                    "-" if r.latency_ms is None else str(r.latency_ms),
                    r.detail,
                ]
                for r in records
            ],
        )
    )
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `probes` command."""
    probes = subparsers.add_parser("probes", help="list probe results")
    sub = probes.add_subparsers(dest="probes_command", metavar="ACTION", parser_class=type(probes))
    sub.required = True
    ls = sub.add_parser("list", help="the newest probes, newest first")
    ls.add_argument("--node", metavar="ID", help="only this node's probes")
    ls.add_argument("--limit", type=int, default=50, metavar="N", help="how many (50)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    add_db_options(ls)
    ls.set_defaults(handler=_cmd_list)
