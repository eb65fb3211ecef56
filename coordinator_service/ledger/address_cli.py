"""`nodes addresses | approve-address | keep-one`: the host's say on nodes from one address."""

import argparse
import json

from coordinator_service.cli_common import (
    Parser,
    add_db_options,
    format_table,
    open_database,
    run_async,
)
from coordinator_service.ledger import shared_addresses as service
from coordinator_service.services.clock import utcnow

__all__ = ["register_nodes_actions"]

_STATE_WORDS = {
    service.PENDING: "asks you",
    service.APPROVED: "approved",
    service.KEPT_ONE: "kept one",
}


def _describe(group: service.SharedAddress) -> str:
    credited = ", ".join(group.credited_names)
    return (
        f"{len(group.nodes)} nodes from {group.where} on stream {group.stream_name}: "
        f"{_STATE_WORDS[group.state]}; credited: {credited}"
    )


def _json(group: service.SharedAddress) -> dict[str, object]:
    return {
        "stream": group.stream_name,
        "address": group.address,
        "addresses": group.keys,
        "state": group.state,
        "max_nodes": group.max_nodes,
        "approved_at": group.approved_at.isoformat() if group.approved_at else None,
        "nodes": [
            {"node_id": n.node_id, "display_name": n.display_name, "credited": n.credited}
            for n in group.nodes
        ],
    }


def _cmd_addresses(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.session() as session:
            groups = await service.shared_addresses(session, utcnow())
        if args.json:
            print(json.dumps([_json(g) for g in groups], indent=2))
            return
        if not groups:
            print("no two nodes of one stream were credited from one address in the last 24 hours")
            return
        print(
            format_table(
                ["STREAM", "ADDRESS", "NODES", "CREDITED", "DECISION"],
                [
                    [
                        g.stream_name,
                        g.where,
                        ", ".join(n.display_name for n in g.nodes),
                        ", ".join(g.credited_names),
                        _STATE_WORDS[g.state]
                        + (f" (up to {g.max_nodes})" if g.state == service.APPROVED else ""),
                    ]
                    for g in groups
                ],
            )
        )
        print(service.WHY_ONE_SHARE)
        if any(g.state == service.PENDING for g in groups):
            print(
                "answer with `nodes approve-address ADDRESS --stream NAME` "
                "or `nodes keep-one ADDRESS --stream NAME`"
            )

    return run_async(run)


def _cmd_approve(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            group = await service.approve_address(
                session, args.stream, args.address, args.max, utcnow()
            )
        print(f"approved {_describe(group)}")

    return run_async(run)


def _cmd_keep_one(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            group = await service.keep_one(session, args.stream, args.address, utcnow())
        print(f"kept one: {_describe(group)}")

    return run_async(run)


def _cmd_withdraw(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            await service.withdraw_approval(session, args.stream, args.address, utcnow())
        print(
            f"withdrew the decision on {args.address.strip()} for stream {args.stream}: "
            "one node there earns, and the dashboard asks again"
        )

    return run_async(run)


def register_nodes_actions(node_sub: "argparse._SubParsersAction[Parser]") -> None:
    """Add `addresses`, `approve-address`, `keep-one` and `withdraw-address` to `nodes`."""
    ls = node_sub.add_parser(
        "addresses", help="nodes of one stream credited from one address (one person, one share)"
    )
    ls.add_argument("--json", action="store_true", help="print JSON")
    add_db_options(ls)
    ls.set_defaults(handler=_cmd_addresses)
    for action, text, handler in (
        ("approve-address", "let several nodes at one address earn on a stream", _cmd_approve),
        ("keep-one", "decide that one node at an address earns on a stream", _cmd_keep_one),
        (
            "withdraw-address",
            "forget an approval or keep-one: the default rule again",
            _cmd_withdraw,
        ),
    ):
        p = node_sub.add_parser(action, help=text)
        p.add_argument(
            "address", metavar="ADDRESS", help="as `nodes addresses` lists it, like 203.0.113.7"
        )
        p.add_argument("--stream", required=True, metavar="NAME", help="the stream it applies to")
        if action == "approve-address":
            p.add_argument(
                "--max",
                type=int,
                metavar="N",
                help="how many of them may earn (default: all seen now)",
            )
        add_db_options(p)
        p.set_defaults(handler=handler)
