"""The node core: relay, heartbeats and coordinator client. Never imports Qt."""

import sys

# httpx imports its command-line tool when rich, click and pygments are installed (~4 MB of RSS
# in every node); the node never runs it, and httpx goes without it when it cannot be imported.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
