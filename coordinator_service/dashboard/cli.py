"""`streamr-coordinator dashboard-link`: print a one-time sign-in link to the dashboard."""

import argparse
import asyncio

from coordinator_service.cli_common import (
    add_db_options,
    link_base,
    open_database,
    warn_unless_serving,
)
from coordinator_service.dashboard.auth import LOGIN_LINK_TTL, create_login_code

__all__ = ["register"]


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the `dashboard-link` subcommand."""
    parser = subparsers.add_parser(
        "dashboard-link",
        help="print a one-time link that signs a browser in to the dashboard",
        description="Print a link that signs one browser in to the host dashboard. It works "
        f"once, within {int(LOGIN_LINK_TTL.total_seconds() // 60)} minutes.",
    )
    parser.add_argument("--public-url", help="the coordinator's address (default: as served)")
    add_db_options(parser)
    parser.set_defaults(handler=_cmd_dashboard_link)


def _cmd_dashboard_link(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (settings, db), db.transaction() as session:
            public_url = await link_base(session, settings, args.public_url)
            code = await create_login_code(session)
        if not args.public_url:
            await warn_unless_serving(public_url)
        minutes = int(LOGIN_LINK_TTL.total_seconds() // 60)
        print(f"open this link within {minutes} minutes to sign in (it works once):")
        print(f"{public_url.rstrip('/')}/login/{code}")

    asyncio.run(run())
    return 0
