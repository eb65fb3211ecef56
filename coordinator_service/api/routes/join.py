"""The page an invite link opens in a browser: how a friend uses the link."""

import html
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from coordinator_service.api.deps import ContextDep, SessionDep, ip_limited
from coordinator_service.services.clock import utcnow
from coordinator_service.services.invites import check_invite
from streamr_protocol.invite import CODE_PATTERN, format_invite_link
from streamr_protocol.models import InviteCheckResponse

__all__ = ["router"]

router = APIRouter(tags=["public"], dependencies=[ip_limited])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Join the stream as a relay</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto; padding: 0 1em;
       line-height: 1.5; color: #222; }}
code {{ background: #f3f3f3; padding: .2em .4em; border-radius: 4px; }}
pre {{ background: #f3f3f3; padding: .5em .75em; border-radius: 4px; overflow-x: auto;
      white-space: pre; }}
pre code {{ padding: 0; }}
ol li {{ margin: .5em 0; }}
</style></head>
<body>
<h1>You are invited to relay this stream</h1>
<p>Your friend runs a live stream and asks you to help carry it: a small app on your computer
re-serves the stream to viewers from your connection, and you earn a share of the reward pool for
the time you relay.</p>
<ol>
<li>Install the <strong>StreamrP2P</strong> app (ask the host for the download, or see the project's
README).</li>
<li>Start it and paste this link when it asks for your invite:
<pre><code>{link}</code></pre></li>
<li>Choose a display name and how you want to be paid. That's all: the tray icon shows when you
are relaying.</li>
</ol>
<p>On a server without a screen (the command is one line; it scrolls rather than wraps):</p>
<pre><code>streamr-node --headless --invite {link}</code></pre>
<p>Keep the link to yourself: it can be used only as often as the host allowed.</p>
</body></html>
"""

CodePath = Annotated[str, Path(pattern=CODE_PATTERN.pattern, description="the invite code")]


@router.get("/join/{code}", response_class=HTMLResponse)
async def join_page(code: CodePath, ctx: ContextDep) -> HTMLResponse:
    """Explain how to use an invite link (the code is not checked or used here)."""
    link = html.escape(format_invite_link(ctx.settings.public_url, code))
    return HTMLResponse(_PAGE.format(link=link))


@router.get("/api/v1/join/{code}", response_model=InviteCheckResponse)
async def check_join_code(code: CodePath, session: SessionDep) -> InviteCheckResponse:
    """Whether this invite can still be used (nothing is used up): the app says so at once."""
    return InviteCheckResponse(status=await check_invite(session, code, utcnow()))
