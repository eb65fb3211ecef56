"""The local status page (HTML) and its JSON, on 127.0.0.1 only, never on the relay port."""

import dataclasses
import html
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from desktop_app.core.aiohttp_serving import web
from desktop_app.core.credit import credit_losses, credit_summary
from desktop_app.core.errors import RelayPortError
from desktop_app.core.events import Credit, CreditLoss
from streamr_protocol.money import format_amount

__all__ = ["StatusPage"]

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class StatusPage:
    """Serve `snapshot()` as /status.json and a small HTML page at /."""

    def __init__(self, snapshot: Callable[[], Any], port: int = 0) -> None:
        self._snapshot = snapshot
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._only_local_names])
        app.router.add_get("/", self._page)
        app.router.add_get("/status.json", self._json)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, HOST, self.port).start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            if self.port == 0:
                raise RelayPortError(f"no status port is free: {exc.strerror or exc}") from exc
            # another node on this machine has it: a page somewhere beats no node at all
            wanted, self.port = self.port, 0
            await self.start()
            logger.warning(
                "status port %d is not usable (taken by another node?): the status page is on "
                "http://%s:%d/ instead (choose one with --status-port)",
                wanted,
                HOST,
                self.port,
            )
            return
        self.port = int(self._runner.addresses[0][1])

    @web.middleware
    async def _only_local_names(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Answer only `127.0.0.1:PORT` or `localhost:PORT` (a page elsewhere cannot rebind DNS)."""
        allowed = (f"127.0.0.1:{self.port}", f"localhost:{self.port}")
        if request.headers.get("Host", "").lower() not in allowed:
            return web.Response(status=421, text="this status page answers on 127.0.0.1 only\n")
        return await handler(request)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def data(self) -> dict[str, Any]:
        result: dict[str, Any] = _plain(self._snapshot())
        return result

    async def _json(self, request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(self.data(), indent=2), content_type="application/json")

    async def _page(self, request: web.Request) -> web.Response:
        data = self.data()
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(s['name'])}</td><td>{'live' if s['live'] else 'not live'}</td>"
            f"<td>{s['segments_cached']}</td><td>{s['viewers']}</td>"
            f"<td>{s['bytes_served'] / 1e6:.1f} MB</td></tr>"
            for s in data["streams"]
        )
        earnings = data.get("earnings")
        earned = (
            f"{format_amount(earnings['today_minor'], earnings['currency'])}"
            f" {e(earnings['currency'])} today"
            if earnings
            else "not known yet"
        )
        credit = _credit_html((earnings or {}).get("credit"))
        reach = {True: "reachable", False: "unreachable", None: "not contacted yet"}
        body = f"""<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5"><title>StreamrP2P node</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em 1em;text-align:left}}</style>
</head><body><h1>StreamrP2P node {e(str(data.get("display_name") or ""))}</h1>
<p>State: <b>{e(data["state"])}</b> · coordinator {e(str(data.get("coordinator_url")))}
({reach[data.get("coordinator_reachable")]}, rated {e(str(data.get("coordinator_state")))})</p>
<p>Relay: {e(str(data.get("public_url")))} · last heartbeat {e(str(data.get("last_heartbeat_at")))}
· viewers {data["viewers"]} · served {data["bytes_served"] / 1e6:.1f} MB · earned {earned}</p>
{credit}<table><tr><th>stream</th><th>state</th><th>segments</th><th>viewers</th><th>served</th></tr>
{rows}</table>
<p>{e(str(data.get("last_error") or ""))}</p>
<p><a href="/status.json">JSON</a> · version {e(str(data.get("version")))}</p></body></html>"""
        return web.Response(text=body, content_type="text/html")


def _credit_html(plain: dict[str, Any] | None) -> str:
    """This period's credit and why time was not credited, with how to fix it ("" if unknown)."""
    if not plain:
        return ""
    credit = Credit(
        plain["up_seconds"],
        plain["credited_seconds"],
        tuple(CreditLoss(**lost) for lost in plain.get("lost", ())),
    )
    e = html.escape
    items = "".join(
        f"<li>{e(what)}" + (f"<br><i>How to fix:</i> {e(advice)}" if advice else "") + "</li>"
        for what, advice in credit_losses(credit)
    )
    return f'<p id="credit">{e(credit_summary(credit))}</p>' + (
        f"<ul>{items}</ul>" if items else ""
    )
