"""`streamr-node`: parse the flags, then run the tray app or, with --headless, the bare node."""

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
import time
from collections.abc import Sequence

from pydantic import ValidationError

from desktop_app.core.config import DEFAULT_RELAY_PORT, DEFAULT_STATUS_PORT, NodeConfig
from desktop_app.core.credit import credit_losses, credit_summary
from desktop_app.core.errors import Error
from desktop_app.core.events import (
    EarningsUpdated,
    NodeEvent,
    ProbeObserved,
    StreamLiveChanged,
    UpdateAvailable,
    ViewersChanged,
)
from desktop_app.core.version import node_version
from streamr_protocol import InviteLinkError, parse_invite_link

__all__ = ["PROBE_HINTS", "HeadlessLog", "build_config", "main", "parse_args"]

logger = logging.getLogger("streamr_node")
PROG = "streamr-node"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Relay a streamer's live stream for your friends (StreamrP2P)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {node_version()}")
    parser.add_argument("--headless", action="store_true", help="no tray icon: logs only")
    parser.add_argument("--invite", metavar="LINK", help="join with this invite link (once)")
    parser.add_argument("--name", metavar="NAME", help="display name shown to the host")
    parser.add_argument("--payout-handle", metavar="HANDLE", help="where you get paid (Venmo, …)")
    parser.add_argument("--data-dir", metavar="D", help="where identity and logs are kept")
    parser.add_argument(
        "--relay-port",
        metavar="P",
        type=int,
        help=f"public relay port (default {DEFAULT_RELAY_PORT})",
    )
    parser.add_argument(
        "--public-url", metavar="URL", help="address viewers reach (port forward, reverse proxy)"
    )
    parser.add_argument("--upload-cap", metavar="MBIT", type=float, help="upload limit in Mbit/s")
    parser.add_argument(
        "--status-port",
        metavar="P",
        type=int,
        help=f"local status page port on 127.0.0.1 (default {DEFAULT_STATUS_PORT})",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="PEM",
        help="serve HTTPS with your own certificate (chain) for your own name",
    )
    parser.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> NodeConfig:
    """NodeConfig from the flags (environment fills the rest); ValueError with one line."""
    given = {
        "data_dir": args.data_dir,
        "relay_port": args.relay_port,
        "public_url": args.public_url,
        "upload_cap_mbit": args.upload_cap,
        "status_port": args.status_port,
        "invite": args.invite,
        "name": args.name,
        "payout_handle": args.payout_handle,
        "tls_cert": getattr(args, "tls_cert", None),
        "tls_key": getattr(args, "tls_key", None),
    }
    if args.invite:  # a streamr:// link may carry name, payout handle and relay port
        with contextlib.suppress(InviteLinkError):  # a bad link is refused when joining
            link = parse_invite_link(args.invite)
            for key in ("name", "payout_handle", "relay_port"):
                if given[key] is None:
                    given[key] = getattr(link, key)
    try:
        return NodeConfig(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across flags
            raise ValueError(str(first["msg"]).removeprefix("Value error, ")) from None
        flag = "--" + str(first["loc"][0]).replace("_mbit", "").replace("_", "-")
        raise ValueError(f"{flag}: {first['msg']}") from None


def _ask_join_details(config: NodeConfig) -> None:
    """Check the invite and ask for what joining needs, unless there is no terminal."""
    if config.load_identity() is not None:
        if config.invite:
            print(f"{PROG}: already joined (identity in {config.data_dir}); ignoring --invite")
            config.invite = None
        return
    if not config.invite:
        raise Error("this node has not joined yet: start it with --invite LINK")
    try:
        parse_invite_link(config.invite)
    except InviteLinkError as exc:
        raise Error(f"bad invite link: {exc}") from None
    for field, label in (("name", "Display name"), ("payout_handle", "Payout handle")):
        if getattr(config, field):
            continue
        flag = "--" + field.replace("_", "-")
        if not sys.stdin.isatty():
            raise Error(f"joining needs {flag} (no terminal to ask)")
        value = input(f"{label}: ").strip()
        if not value:
            raise Error(f"joining needs a {label.lower()}")
        setattr(config, field, value)


# What a headless friend does about a failing probe (the tray says the same in its own words).
_UNREACHABLE = (
    "the coordinator cannot reach this relay: forward the relay port on your router (or open "
    "the firewall), or give --public-url with the address viewers reach"
)
PROBE_HINTS = {
    "private_address": "the coordinator sees a private (LAN or loopback) address for this relay: "
    "give --public-url with the address viewers reach (the host can allow LAN relays with "
    "`serve --allow-private-relays`)",
    "no_relay": "the coordinator does not know this relay's address yet: give --public-url",
    "timeout": _UNREACHABLE,
    "refused": _UNREACHABLE,
}


class HeadlessLog:
    """Log the node's events for a terminal: one line each, failing probes once per reason."""

    def __init__(self) -> None:
        self._probe_reason = "ok"

    def __call__(self, event: NodeEvent) -> None:
        if isinstance(event, ViewersChanged):
            logger.info("viewers %d %s", event.viewers, event.per_stream or "")
        elif isinstance(event, StreamLiveChanged) and not event.stopped:  # the relay says so
            logger.info("stream %s is %s", event.stream, "live" if event.live else "not live")
        elif isinstance(event, EarningsUpdated):
            logger.info(
                "earned today %d, this period %d (%s minor units)",
                event.today_minor,
                event.period_minor,
                event.currency,
            )
            if event.credit is not None:
                lost = [
                    f"{what} ({advice})" if advice else what
                    for what, advice in credit_losses(event.credit)
                ]
                logger.info("%s%s", credit_summary(event.credit), "; ".join(["", *lost]))
        elif isinstance(event, UpdateAvailable):
            logger.info("version %s is available: %s", event.version, event.download_url)
        elif isinstance(event, ProbeObserved) and event.reason != self._probe_reason:
            self._probe_reason = event.reason
            if event.ok:
                logger.info("probes of this relay pass again")
            else:
                hint = PROBE_HINTS.get(event.reason, "see the host's dashboard for details")
                logger.warning("a probe of this relay failed (%s): %s", event.reason, hint)


async def _run_headless(config: NodeConfig) -> int:
    from desktop_app.core.node import Node  # not at import: the tray's icon shows sooner

    node = Node(config)
    node.subscribe(HeadlessLog())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(node.stopped.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    failed = node.state == "failed" or (node.stopped.is_set() and not stop.is_set())
    await node.stop("shutting down")
    logger.info("stopped")
    return 1 if failed else 0


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _run_gui(config: NodeConfig) -> int:
    try:  # lazily: Qt loads only for the GUI
        run_gui = importlib.import_module("desktop_app.ui.app").run_gui
    except (ImportError, AttributeError, OSError, RuntimeError) as exc:
        print(
            f"{PROG}: error: the tray app cannot start ({exc}); use --headless",
            file=sys.stderr,
        )
        return 1
    return int(run_gui(config) or 0)


def skip_httpx_cli() -> None:
    """Never load httpx's command line client: `import httpx` loads it (rich, pygments and
    click, ~7 MB) whenever they are installed, and the node does not use it (issue 17).
    httpx then defines a stand-in `httpx.main` that only says what to install."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    """Run streamr-node; return the exit code (2 bad flags, 1 other errors)."""
    skip_httpx_cli()
    args = parse_args(argv)
    try:
        config = build_config(args)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if not args.headless:
        return _run_gui(config)
    _setup_logging()
    try:
        _ask_join_details(config)
        return asyncio.run(_run_headless(config))
    except Error as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
