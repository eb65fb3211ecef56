"""Host commands for running for real: `hooks url|rotate` (SRS) and `release set|show` (updates)."""

import argparse
import asyncio

import pydantic

from coordinator_service.cli_common import add_db_options, open_database
from coordinator_service.errors import ValidationError
from coordinator_service.services.app_settings import (
    DOWNLOAD_URL,
    LATEST_VERSION,
    PUBLIC_URL,
    get_settings,
    put_settings,
)
from coordinator_service.services.srs_hooks import hook_secret, hook_url, rotate_hook_secret
from streamr_protocol.models import UpdateAnnounceRequest

__all__ = ["register"]


async def _base_url(args: argparse.Namespace) -> str:
    if args.base:
        return str(args.base)
    async with open_database(args) as (settings, db), db.session() as session:
        stored = (await get_settings(session, PUBLIC_URL)).get(PUBLIC_URL)
    return stored or settings.public_url


def _cmd_hooks(args: argparse.Namespace) -> int:
    async def run() -> None:
        base = await _base_url(args)
        async with open_database(args) as (_, db), db.transaction() as session:
            if args.hooks_command == "rotate":
                secret = await rotate_hook_secret(session)
                print("new hook secret made: the old hook URL no longer works")
            else:
                secret = await hook_secret(session)
        print("put this URL in srs.conf as on_publish and on_unpublish (keep it private):")
        print(hook_url(base, secret))

    asyncio.run(run())
    return 0


def _cmd_release_set(args: argparse.Namespace) -> int:
    try:
        body = UpdateAnnounceRequest(version=args.version, download_url=args.url)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationError(f"{first['loc'][0]}: {first['msg']}") from exc

    async def run() -> None:
        async with open_database(args) as (_, db), db.transaction() as session:
            await put_settings(
                session, {LATEST_VERSION: body.version, DOWNLOAD_URL: str(body.download_url)}
            )
        print(f"announced version {body.version}: nodes see it in their next heartbeat answer")
        print(f"download: {body.download_url}")

    asyncio.run(run())
    return 0


def _cmd_release_show(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_database(args) as (_, db), db.session() as session:
            values = await get_settings(session, LATEST_VERSION, DOWNLOAD_URL)
        if LATEST_VERSION not in values:
            print("no release announced (set one with `release set VERSION --url URL`)")
        else:
            print(f"version {values[LATEST_VERSION]}: {values.get(DOWNLOAD_URL, '-')}")

    asyncio.run(run())
    return 0


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add `hooks` and `release` to the coordinator's CLI."""
    hooks = sub.add_parser("hooks", help="the SRS hook URL (on_publish/on_unpublish)")
    hooks_sub = hooks.add_subparsers(
        dest="hooks_command", metavar="ACTION", parser_class=type(hooks)
    )
    hooks_sub.required = True
    for action, text in (
        ("url", "print the hook URL for srs.conf (makes the secret on first use)"),
        ("rotate", "make a new hook secret and print the new URL"),
    ):
        parser = hooks_sub.add_parser(action, help=text)
        parser.add_argument(
            "--base",
            metavar="URL",
            help="the coordinator's address as SRS reaches it (default: serve's public URL)",
        )
        add_db_options(parser)
        parser.set_defaults(handler=_cmd_hooks)

    release = sub.add_parser("release", help="announce the newest app version to the nodes")
    release_sub = release.add_subparsers(
        dest="release_command", metavar="ACTION", parser_class=type(release)
    )
    release_sub.required = True
    set_ = release_sub.add_parser("set", help="announce VERSION, downloadable at --url")
    set_.add_argument("version", metavar="VERSION", help="like 0.2.0")
    set_.add_argument("--url", required=True, help="where friends download it (http or https)")
    add_db_options(set_)
    set_.set_defaults(handler=_cmd_release_set)
    show = release_sub.add_parser("show", help="print the announced version")
    add_db_options(show)
    show.set_defaults(handler=_cmd_release_show)
