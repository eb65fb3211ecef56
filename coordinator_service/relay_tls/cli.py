"""`relay-certs list` of streamr-coordinator: each node's relay name, certificate and its state."""

import argparse
import asyncio
import json

from sqlalchemy import select

from coordinator_service.cli_common import add_db_options, format_table, format_when, open_database
from coordinator_service.storage.models import RelayCertificate

__all__ = ["register"]


def _state(row: RelayCertificate) -> str:
    if row.chain_pem is not None:
        return "issued"
    return "failing" if row.last_error else "pending"


def _cmd_list(args: argparse.Namespace) -> int:
    async def run() -> list[RelayCertificate]:
        async with open_database(args) as (_, db), db.session() as session:
            rows = await session.scalars(
                select(RelayCertificate).order_by(RelayCertificate.requested_at)
            )
            return list(rows)

    rows = asyncio.run(run())
    if args.json:
        out = [
            {
                "node_id": r.node_id,
                "name": r.name,
                "state": _state(r),
                "requested_at": r.requested_at.isoformat(),
                "issued_at": r.issued_at.isoformat() if r.issued_at else None,
                "not_after": r.not_after.isoformat() if r.not_after else None,
                "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
                "last_error": r.last_error,
            }
            for r in rows
        ]
        print(json.dumps(out, indent=2))
        return 0
    if not rows:
        print("no relay asked for a certificate yet (is serve running with --relay-domain?)")
        return 0
    table = [
        [
            r.node_id,
            r.name,
            _state(r),
            format_when(r.not_after) if r.not_after else "-",
            r.last_error or "",
        ]
        for r in rows
    ]
    print(format_table(["NODE", "NAME", "STATE", "EXPIRES", "LAST ERROR"], table))
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `relay-certs` command."""
    certs = subparsers.add_parser("relay-certs", help="relay certificates (HTTPS relays)")
    sub = certs.add_subparsers(dest="certs_command", metavar="ACTION", parser_class=type(certs))
    sub.required = True
    ls = sub.add_parser("list", help="each node's relay name, certificate state and expiry")
    ls.add_argument("--json", action="store_true", help="print JSON")
    add_db_options(ls)
    ls.set_defaults(handler=_cmd_list)
