"""`streamr-coordinator demo`: a subcommand of the coordinator's CLI (see `cli.SUBCOMMANDS`)."""

import argparse
from collections.abc import Callable
from pathlib import Path

from coordinator_service.demo.runner import DemoOptions, run_demo

__all__ = ["register"]


def _bounded(what: str, low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def _cmd_demo(args: argparse.Namespace) -> int:
    options = DemoOptions(
        port=args.port,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        nodes=args.nodes,
        cheat=args.cheat,
        gui=args.gui,
    )
    return run_demo(options)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `demo` to the coordinator's CLI."""
    demo = sub.add_parser(
        "demo",
        help="run a self-contained local demo: coordinator, live origin and relaying nodes",
        description="Start, on 127.0.0.1: the coordinator, a live test-pattern origin, the stream "
        "`demo` with a reward pool, and N headless nodes joined by invite. Prints the dashboard "
        "and watch URLs, then a line per heartbeat round, probe and earnings change. Ctrl-C "
        "stops every process.",
    )
    demo.add_argument(
        "--port",
        type=_bounded("a port number", 0, 65535),
        default=8000,
        help="coordinator port (default 8000; 0: any free)",
    )
    demo.add_argument(
        "--data-dir", help="keep everything here (default: a temporary folder, removed at exit)"
    )
    demo.add_argument(
        "--nodes",
        type=_bounded("a whole number", 0, 20),
        default=3,
        metavar="N",
        help="honest nodes to start (3)",
    )
    demo.add_argument(
        "--cheat",
        action="store_true",
        help="also start a stale node and a wrong-bytes node, and watch them get flagged",
    )
    demo.add_argument("--gui", action="store_true", help="also open the tray app")
    demo.set_defaults(handler=_cmd_demo)
