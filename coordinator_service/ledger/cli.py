"""`payouts …` commands of streamr-coordinator: compute, list, export, mark-paid, void."""

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from coordinator_service.cli_common import add_db_options, format_table, format_when, open_database
from coordinator_service.errors import ValidationError
from coordinator_service.ledger import payouts as ledger
from coordinator_service.money import format_minor
from coordinator_service.services.clock import utcnow

__all__ = ["parse_time", "register"]


def parse_time(text: str, flag: str) -> datetime:
    """Parse an ISO 8601 time (`2026-03-01T00:00:00Z`, `2026-03-01`); no zone means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"{flag}: {text!r} is not an ISO 8601 time (write it like 2026-03-01T00:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hms(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"


def _status(view: ledger.PayoutView) -> str:
    if view.voided_at is not None:
        return "voided " + format_when(view.voided_at)
    if view.paid_at is not None:
        return "paid " + format_when(view.paid_at)
    return "unpaid"


def _print_payout(view: ledger.PayoutView, stored: bool) -> None:
    scope = view.stream or "all streams"
    print(
        f"payout {view.payout_id}{'' if stored else ' (dry run, not stored)'}: {scope}, "
        f"{format_when(view.period_from)} to {format_when(view.period_to)}, "
        f"live {_hms(view.live_seconds)}, "
        f"pool {format_minor(view.pool_minor, view.currency)} {view.currency}"
    )
    if not view.lines:
        print("nobody was credited in this period")
        return
    print(
        format_table(
            ["NODE", "NAME", "PAYOUT HANDLE", "CREDITED", "AMOUNT"],
            [
                [
                    line.node_id,
                    line.display_name,
                    line.payout_handle,
                    _hms(line.credited_seconds),
                    f"{format_minor(line.amount_minor, view.currency)} {view.currency}",
                ]
                for line in view.lines
            ],
        )
    )


def _cmd_compute(args: argparse.Namespace) -> int:
    period_from = parse_time(args.period_from, "--from")
    period_to = parse_time(args.period_to, "--to")

    async def run() -> ledger.PayoutView:
        async with open_database(args) as (_, db), db.transaction() as session:
            view = await ledger.compute_payout(
                session, period_from, period_to, args.stream, now=utcnow(), dry_run=args.dry_run
            )
            if not args.dry_run:
                await session.commit()
            return view

    _print_payout(asyncio.run(run()), stored=not args.dry_run)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    async def run() -> list[ledger.PayoutView]:
        async with open_database(args) as (_, db), db.session() as session:
            return await ledger.list_payouts(session)

    views = asyncio.run(run())
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "payout_id": v.payout_id,
                        "stream": v.stream,
                        "period_from": v.period_from.isoformat(),
                        "period_to": v.period_to.isoformat(),
                        "pool_minor": v.pool_minor,
                        "currency": v.currency,
                        "nodes": v.node_count,
                        "paid_at": v.paid_at and v.paid_at.isoformat(),
                        "voided_at": v.voided_at and v.voided_at.isoformat(),
                    }
                    for v in views
                ],
                indent=2,
            )
        )
        return 0
    if not views:
        print("no payouts yet: compute one with `payouts compute --from T --to T`")
        return 0
    print(
        format_table(
            ["ID", "STREAM", "FROM", "TO", "POOL", "NODES", "STATUS"],
            [
                [
                    v.payout_id,
                    v.stream or "(all)",
                    format_when(v.period_from),
                    format_when(v.period_to),
                    f"{format_minor(v.pool_minor, v.currency)} {v.currency}",
                    str(v.node_count),
                    _status(v),
                ]
                for v in views
            ],
        )
    )
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    async def run() -> ledger.PayoutView:
        async with open_database(args) as (_, db), db.session() as session:
            return await ledger.get_payout(session, args.id)

    view = asyncio.run(run())
    _print_payout(view, stored=True)
    print(_status(view))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    async def run() -> ledger.PayoutView:
        async with open_database(args) as (_, db), db.session() as session:
            return await ledger.get_payout(session, args.id)

    text = ledger.payout_csv(asyncio.run(run()))
    if args.csv == "-":
        print(text, end="")
        return 0
    target = Path(args.csv).expanduser()
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"--csv: cannot write {target}: {exc.strerror}") from exc
    print(f"wrote {len(text.splitlines()) - 1} lines of payout {args.id} to {target}")
    return 0


def _cmd_settle(args: argparse.Namespace) -> int:
    paying = args.payouts_command == "mark-paid"

    async def run() -> tuple[ledger.PayoutView, ledger.PayoutView]:
        async with open_database(args) as (_, db), db.transaction() as session:
            before = await ledger.get_payout(session, args.id)
            action = ledger.mark_paid if paying else ledger.void_payout
            after = await action(session, args.id, now=utcnow())
            await session.commit()
            return before, after

    before, after = asyncio.run(run())
    if paying:
        already = " (already)" if before.paid_at is not None else ""
        print(f"payout {after.payout_id} marked paid{already} at {format_when(after.paid_at)}")
    else:
        already = " (already)" if before.voided_at is not None else ""
        print(f"payout {after.payout_id} voided{already} at {format_when(after.voided_at)}")
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `payouts` command and its actions."""
    payouts = subparsers.add_parser("payouts", help="compute, list, export and settle payouts")
    sub = payouts.add_subparsers(
        dest="payouts_command", metavar="ACTION", parser_class=type(payouts)
    )
    sub.required = True

    compute = sub.add_parser("compute", help="compute and store the payout of a period")
    compute.add_argument("--from", dest="period_from", required=True, metavar="T", help="ISO 8601")
    compute.add_argument("--to", dest="period_to", required=True, metavar="T", help="ISO 8601")
    compute.add_argument("--stream", metavar="NAME", help="one stream (default: all combined)")
    compute.add_argument("--dry-run", action="store_true", help="show it without storing it")
    add_db_options(compute)
    compute.set_defaults(handler=_cmd_compute)

    ls = sub.add_parser("list", help="list payouts, newest first")
    ls.add_argument("--json", action="store_true", help="print JSON")
    add_db_options(ls)
    ls.set_defaults(handler=_cmd_list)

    show = sub.add_parser("show", help="show one payout's lines")
    show.add_argument("id", metavar="ID")
    add_db_options(show)
    show.set_defaults(handler=_cmd_show)

    export = sub.add_parser("export", help="write a payout's lines as CSV")
    export.add_argument("id", metavar="ID")
    export.add_argument(
        "--csv", required=True, metavar="FILE", help="where to write (- for stdout)"
    )
    add_db_options(export)
    export.set_defaults(handler=_cmd_export)

    for action, text in (
        ("mark-paid", "record that a payout was settled (idempotent)"),
        ("void", "void an unpaid payout so its period can be computed again"),
    ):
        p = sub.add_parser(action, help=text)
        p.add_argument("id", metavar="ID")
        add_db_options(p)
        p.set_defaults(handler=_cmd_settle)
