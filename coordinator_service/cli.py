"""`streamr-coordinator`: serve the API, the admin commands, and the one place the CLI is assembled.

`SUBCOMMANDS` lists the parts' modules that add subcommands (`register(subparsers)`); to add one,
import its module here and list it. Their shared helpers are in `cli_common` (a part never
imports this module).
"""

import argparse
import asyncio
import json
import logging
import socket
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from coordinator_service import __version__, host_cli
from coordinator_service.cli_common import (
    DB_KEYS,
    Parser,
    add_db_options,
    format_table,
    format_when,
    link_base,
    open_database,
    parse_duration,
    run_async,
    settings_from_args,
    warn_unless_serving,
)
from coordinator_service.config import Settings
from coordinator_service.dashboard import cli as dashboard_cli
from coordinator_service.demo import cli as demo_cli
from coordinator_service.errors import Error, ValidationError
from coordinator_service.ledger import address_cli
from coordinator_service.ledger import cli as ledger_cli
from coordinator_service.money import format_minor, to_minor
from coordinator_service.prober import cli as prober_cli
from coordinator_service.relay_tls import cli as relay_tls_cli
from coordinator_service.services import invites, nodes, streams
from coordinator_service.services.admin_token import ensure_admin_token, ensure_data_dir
from coordinator_service.services.app_settings import HEARTBEAT_INTERVAL, PUBLIC_URL, get_settings
from coordinator_service.services.clock import utcnow
from coordinator_service.services.origin_check import check_origin
from coordinator_service.services.publish_keys import obs_stream_key, rotate_publish_key
from coordinator_service.services.views import admin_node_view
from coordinator_service.storage.db import Database
from streamr_protocol.addresses import plain_http_public
from streamr_protocol.invite import format_invite_link

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

logger = logging.getLogger(__name__)

# The parts' subcommands, after serve/stream/invite/nodes (each module has `register(sub)`).
SUBCOMMANDS = (ledger_cli, demo_cli, dashboard_cli, prober_cli, host_cli, relay_tls_cli)

_SERVE_KEYS = (
    "host",
    "port",
    "heartbeat_interval",
    "probe_interval",
    "allow_private_relays",
    "redis_url",
    "public_url",
    "relay_domain",
    "relay_dns_listen",
    "relay_dns_nameserver",
    "acme_directory",
    "acme_email",
    "acme_ca_bundle",
    "relay_ca_file",
    "metrics_token",
)
# --- serve ----------------------------------------------------------------------------------


_QUIET_LOGGERS = ("alembic", "httpx", "httpcore")
_DRIVER_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool")


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from coordinator_service.api.app import create_app

    settings = settings_from_args(args, DB_KEYS + _SERVE_KEYS)
    level = logging.getLevelName(settings.log_level.upper())
    if isinstance(level, int):  # STREAMR_LOG_LEVEL applies to our loggers too, not only uvicorn's
        logging.getLogger().setLevel(level)
    for name in _DRIVER_LOGGERS:  # at INFO/DEBUG they print SQL parameters: probe keys
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise Error(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from exc
    if settings.port == 0:  # port 0: the system picked one; invite links need the real one
        settings = settings_from_args(args, DB_KEYS + _SERVE_KEYS, port=sock.getsockname()[1])
    ensure_data_dir(settings.data_dir)
    ensure_admin_token(settings.admin_token_path)
    asyncio.run(_migrate(settings))
    print(f"StreamrP2P coordinator {__version__}", flush=True)
    print(f"data dir: {settings.data_dir}", flush=True)
    print(f"admin token: kept in {settings.admin_token_path} (mode 0600)", flush=True)
    print(f"public URL (invite links): {settings.public_url}", flush=True)
    if plain_http_public(settings.public_url):
        print(
            "warning: the public URL is plain http:// on a public address: node tokens and "
            "stream assignments travel in clear; put HTTPS in front and pass "
            "--public-url https://…",
            flush=True,
        )
    print(f"listening on http://{_url_host(settings.host)}:{settings.port}", flush=True)
    data_flag = f" --data-dir {settings.data_dir}" if args.data_dir else ""
    print(f"dashboard: {settings.public_url.rstrip('/')}/", flush=True)
    print(
        f"sign in: run `streamr-coordinator dashboard-link{data_flag}` and open the link "
        "(or paste the admin token on the sign-in page)",
        flush=True,
    )
    config = uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # run(), not asyncio.run(serve()): run() picks uvicorn's loop (uvloop when installed).
    server.run(sockets=[sock])
    return 0 if server.started else 1


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _migrate(settings: Settings) -> None:
    db = Database(settings.database_url)
    try:
        await db.migrate()
        async with db.transaction() as session:
            from coordinator_service.services.app_settings import put_settings

            await put_settings(
                session,
                {
                    PUBLIC_URL: settings.public_url,
                    HEARTBEAT_INTERVAL: str(settings.heartbeat_interval),
                },
            )
    finally:
        await db.dispose()


# --- stream ---------------------------------------------------------------------------------


def _cmd_stream_add(args: argparse.Namespace) -> int:
    currency = args.currency.upper()
    pool = to_minor(args.pool_per_hour, currency)

    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            stream = await streams.create_stream(session, args.name, args.origin, pool, currency)
        print(
            f"added stream {stream.name}: origin {stream.origin_url}, "
            f"pool {format_minor(stream.pool_per_hour_minor, currency)} {currency} per hour"
        )
        print(f"OBS stream key (keep it secret): {obs_stream_key(stream.name, stream.publish_key)}")
        problem = await check_origin(stream.origin_url)
        if problem:
            print(
                f"warning: {problem}; added anyway. Nodes start relaying once {stream.origin_url} "
                "serves the live stream (is the streamer live? is the URL right?)",
                file=sys.stderr,
            )

    return run_async(run)


def _cmd_stream_remove(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            await streams.delete_stream(session, args.name)
        print(f"removed stream {args.name}: nodes stop relaying it at their next heartbeat")

    return run_async(run)


def _cmd_stream_pause(args: argparse.Namespace) -> int:
    paused = args.stream_command == "pause"

    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            await streams.update_stream(session, args.name, streams.StreamChanges(paused=paused))
        if paused:
            print(f"paused stream {args.name}: nodes stop relaying it and earn nothing for it")
        else:
            print(f"resumed stream {args.name}: nodes relay it again at their next heartbeat")

    return run_async(run)


def _cmd_stream_key(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            stream = await streams.get_stream(session, args.name)
            key = await rotate_publish_key(session, stream) if args.rotate else stream.publish_key
        if args.rotate:
            print(f"new publish key for {stream.name}: the old one no longer publishes")
        print(f"OBS stream key (keep it secret): {obs_stream_key(stream.name, key)}")

    return run_async(run)


def _cmd_stream_list(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.session() as session:
            rows = await streams.list_streams(session)
        if args.json:
            print(json.dumps([_stream_json(s) for s in rows], indent=2))
            return
        if not rows:
            print("no streams yet: add one with `streamr-coordinator stream add NAME ...`")
            return
        print(
            format_table(
                ["NAME", "POOL/HOUR", "STATE", "ORIGIN"],
                [
                    [
                        s.name,
                        f"{format_minor(s.pool_per_hour_minor, s.currency)} {s.currency}",
                        "paused" if s.paused else ("live" if s.live else "offline"),
                        s.origin_url,
                    ]
                    for s in rows
                ],
            )
        )

    return run_async(run)


def _stream_json(stream: Any) -> dict[str, Any]:
    return {
        "name": stream.name,
        "origin_url": stream.origin_url,
        "pool_per_hour_minor": stream.pool_per_hour_minor,
        "pool_per_hour": format_minor(stream.pool_per_hour_minor, stream.currency),
        "currency": stream.currency,
        "paused": stream.paused,
        "live": stream.live,
    }


# --- invite ---------------------------------------------------------------------------------


def _cmd_invite_create(args: argparse.Namespace) -> int:
    expires_in = None if args.expires.lower() == "never" else parse_duration(args.expires)

    async def run() -> None:
        async with open_database(args) as (settings, db), db.transaction() as session:
            public_url = await link_base(session, settings, args.public_url)
            created = await invites.create_invite(
                session, uses=args.uses, expires_in=expires_in, note=args.note
            )
        invite = created.invite
        uses = "1 use" if invite.max_uses == 1 else f"{invite.max_uses} uses"
        expires = format_when(invite.expires_at) if invite.expires_at else "never"
        print(f"invite {invite.id}: {uses}, expires {expires}")
        if not args.public_url:
            await warn_unless_serving(public_url)
        print("send this link to a friend (it is shown only now):")
        print(format_invite_link(public_url.rstrip("/"), created.code))

    return run_async(run)


def _cmd_invite_list(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.session() as session:
            rows = await invites.list_invites(session)
        now = utcnow()
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "id": i.id,
                            "uses_left": i.uses_left,
                            "max_uses": i.max_uses,
                            "state": invites.invite_status(i, now),
                            "expires_at": i.expires_at.isoformat() if i.expires_at else None,
                            "created_at": i.created_at.isoformat(),
                            "note": i.note,
                        }
                        for i in rows
                    ],
                    indent=2,
                )
            )
            return
        if not rows:
            print("no invites yet: make one with `streamr-coordinator invite create`")
            return
        print(
            format_table(
                ["ID", "USES LEFT", "STATE", "EXPIRES", "CREATED", "NOTE"],
                [
                    [
                        i.id,
                        f"{i.uses_left}/{i.max_uses}",
                        invites.invite_status(i, now),
                        format_when(i.expires_at),
                        format_when(i.created_at),
                        i.note,
                    ]
                    for i in rows
                ],
            )
        )

    return run_async(run)


def _cmd_invite_revoke(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            invite = await invites.revoke_invite(session, args.id)
        print(f"invite {invite.id} revoked")

    return run_async(run)


# --- nodes ----------------------------------------------------------------------------------


def _cmd_nodes_list(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (settings, db), db.session() as session:
            rows = await nodes.list_nodes(session)
            stored = await get_settings(session, HEARTBEAT_INTERVAL)
            probes = await nodes.last_probe_reasons(session, [n.id for n in rows])
        interval = int(stored.get(HEARTBEAT_INTERVAL) or settings.heartbeat_interval)
        grace = timedelta(seconds=interval * settings.grace_factor)
        now = utcnow()
        views = [admin_node_view(n, now, grace) for n in rows]
        if args.json:
            print(
                json.dumps(
                    [{"id": v.node_id, **v.model_dump(mode="json")} for v in views], indent=2
                )
            )
            return
        if not views:
            print("no nodes yet: send a friend an invite (`streamr-coordinator invite create`)")
            return
        print(
            format_table(
                ["ID", "NAME", "STATE", "REPUTATION", "RELAY URL", "LAST HEARTBEAT", "LAST PROBE"],
                [
                    [
                        v.node_id,
                        v.display_name,
                        v.state,
                        f"{v.reputation:.2f}",
                        v.relay_url,
                        format_when(v.last_heartbeat_at),
                        probes.get(v.node_id, "-"),
                    ]
                    for v in views
                ],
            )
        )
        private = [v.display_name for v in views if probes.get(v.node_id) == "private_address"]
        if private:
            print(
                f"note: probes of {', '.join(private)} fail with private_address: "
                f"{nodes.PRIVATE_ADDRESS_FIX}."
            )

    return run_async(run)


def _cmd_nodes_ban(args: argparse.Namespace) -> int:
    banned = args.nodes_command == "ban"

    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            node = await nodes.set_banned(session, args.id, banned)
        print(f"node {node.id} ({node.display_name}) {'banned' if banned else 'unbanned'}")

    return run_async(run)


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser: the core commands, then every part's `SUBCOMMANDS`."""
    parser = Parser(
        prog="streamr-coordinator",
        description="StreamrP2P coordinator: the host's service (API, prober, dashboard) and "
        "admin commands. Admin commands work directly on the database, also while `serve` runs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    serve = sub.add_parser("serve", help="run the coordinator (API, prober, dashboard)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000; 0 picks one)")
    add_db_options(serve)
    serve.add_argument(
        "--heartbeat-interval", type=int, metavar="S", help="seconds between node heartbeats (30)"
    )
    serve.add_argument(
        "--probe-interval",
        type=float,
        metavar="S",
        help="mean seconds between probes of a node, at random times (180)",
    )
    serve.add_argument(
        "--allow-private-relays",
        action="store_true",
        default=None,
        help="let the prober fetch private/loopback addresses (LAN parties, tests, the demo)",
    )
    serve.add_argument(
        "--redis-url", help="redis://HOST:PORT/DB to share rate limits between replicas"
    )
    serve.add_argument(
        "--public-url", help="the address friends and viewers reach (default http://HOST:PORT)"
    )
    serve.add_argument(
        "--metrics-token",
        metavar="TOKEN",
        help="protect /metrics: Prometheus sends `Authorization: Bearer TOKEN` "
        "(or STREAMR_METRICS_TOKEN; open when unset)",
    )
    tls = serve.add_argument_group("HTTPS relays (see the host guide: relay domain)")
    tls.add_argument(
        "--relay-domain",
        metavar="ZONE",
        help="a DNS zone delegated to this coordinator (NS record), e.g. relays.example.org: "
        "relays get names under it and certificates through ACME DNS-01",
    )
    tls.add_argument(
        "--relay-dns-listen", metavar="HOST:PORT", help="where the zone's DNS answers (0.0.0.0:53)"
    )
    tls.add_argument(
        "--relay-dns-nameserver",
        metavar="HOST",
        help="the host name the NS record names (default: the public URL's host)",
    )
    tls.add_argument("--acme-directory", metavar="URL", help="ACME CA (default Let's Encrypt)")
    tls.add_argument("--acme-email", help="contact address for the ACME account")
    tls.add_argument(
        "--acme-ca-bundle", metavar="PEM", help="CA file trusted for the ACME server (tests)"
    )
    tls.add_argument(
        "--relay-ca-file",
        metavar="PEM",
        help="extra CA file the prober trusts for HTTPS relays (a private or test CA)",
    )
    serve.set_defaults(handler=_cmd_serve)

    stream = sub.add_parser("stream", help="add, list, pause, resume and remove streams")
    stream_sub = stream.add_subparsers(dest="stream_command", metavar="ACTION", parser_class=Parser)
    stream_sub.required = True
    add = stream_sub.add_parser("add", help="add a stream")
    add.add_argument("name", metavar="NAME", help="the stream's id (letters, digits, - and _)")
    add.add_argument("--origin", required=True, metavar="URL", help="origin playlist URL (SRS HLS)")
    add.add_argument(
        "--pool-per-hour",
        required=True,
        metavar="AMOUNT",
        help="reward pool per live hour in major units, like 36 or 1.50",
    )
    add.add_argument("--currency", default="USD", help="ISO 4217 code (default USD)")
    add_db_options(add)
    add.set_defaults(handler=_cmd_stream_add)
    key = stream_sub.add_parser("key", help="show (or --rotate) a stream's OBS publish key")
    key.add_argument("name", metavar="NAME")
    key.add_argument(
        "--rotate", action="store_true", help="replace the key (OBS needs the new one)"
    )
    add_db_options(key)
    key.set_defaults(handler=_cmd_stream_key)
    ls = stream_sub.add_parser("list", help="list streams")
    ls.add_argument("--json", action="store_true", help="print JSON")
    add_db_options(ls)
    ls.set_defaults(handler=_cmd_stream_list)
    remove = stream_sub.add_parser(
        "remove", help="delete a stream (refused once payouts name it: pause it instead)"
    )
    remove.add_argument("name", metavar="NAME")
    add_db_options(remove)
    remove.set_defaults(handler=_cmd_stream_remove)
    for action, text in (
        ("pause", "stop relaying a stream (no credit while paused)"),
        ("resume", "relay a paused stream again"),
    ):
        toggle = stream_sub.add_parser(action, help=text)
        toggle.add_argument("name", metavar="NAME")
        add_db_options(toggle)
        toggle.set_defaults(handler=_cmd_stream_pause)

    invite = sub.add_parser("invite", help="create, list and revoke invites")
    invite_sub = invite.add_subparsers(dest="invite_command", metavar="ACTION", parser_class=Parser)
    invite_sub.required = True
    create = invite_sub.add_parser("create", help="create an invite; prints its link last")
    create.add_argument(
        "--uses", type=int, default=1, metavar="N", help="how many nodes may join (1)"
    )
    create.add_argument(
        "--expires", default="7d", metavar="DURATION", help="like 7d, 12h, 30m, or never (7d)"
    )
    create.add_argument("--note", default="", help="a note for yourself, like who it is for")
    create.add_argument(
        "--public-url", help="coordinator URL in the link (default: what serve uses)"
    )
    add_db_options(create)
    create.set_defaults(handler=_cmd_invite_create)
    ils = invite_sub.add_parser("list", help="list invites")
    ils.add_argument("--json", action="store_true", help="print JSON")
    add_db_options(ils)
    ils.set_defaults(handler=_cmd_invite_list)
    revoke = invite_sub.add_parser("revoke", help="revoke an invite")
    revoke.add_argument("id", metavar="ID", help="the invite's id (see invite list)")
    add_db_options(revoke)
    revoke.set_defaults(handler=_cmd_invite_revoke)

    node = sub.add_parser(
        "nodes", help="list, ban and unban nodes; approve several nodes at one address"
    )
    node_sub = node.add_subparsers(dest="nodes_command", metavar="ACTION", parser_class=Parser)
    node_sub.required = True
    nls = node_sub.add_parser("list", help="list nodes with state and reputation")
    nls.add_argument("--json", action="store_true", help="print JSON")
    add_db_options(nls)
    nls.set_defaults(handler=_cmd_nodes_list)
    for action, text in (("ban", "ban a node"), ("unban", "lift a node's ban")):
        p = node_sub.add_parser(action, help=text)
        p.add_argument("id", metavar="ID", help="the node's id (see nodes list)")
        add_db_options(p)
        p.set_defaults(handler=_cmd_nodes_ban)
    address_cli.register_nodes_actions(node_sub)

    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors are one line (exit 1), usage errors exit 2."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in _QUIET_LOGGERS:  # each admin command / each probe request said a line at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValidationError as exc:
        print(f"streamr-coordinator: error: {exc.message}", file=sys.stderr)
        return 2
    except Error as exc:
        print(f"streamr-coordinator: error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        logger.debug("unexpected error", exc_info=True)
        print(f"streamr-coordinator: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
