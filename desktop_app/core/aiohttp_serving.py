"""aiohttp for the node's servers, imported without the system CAs its client side loads.

At import, aiohttp builds two default client SSL contexts, each loading the system's CA
certificates (~1.9 MB together, issue 17). The node serves with aiohttp and never connects
with it, so the first import here loads no CAs into them; aiohttp's verifying context is then
the node's shared one (`trusted_context`), so an aiohttp client still verifies as before.
Its file responses' MimeTypes, made at import too, read the system's mime.types into the
`mimetypes` module although they use only Python's built-in table: that read waits until
something asks `mimetypes` itself. Import aiohttp through this module.
"""

import mimetypes
import ssl
import sys

from desktop_app.core.tls_trust import trusted_context


def _import_aiohttp_lean() -> None:
    """Import aiohttp once: no CAs in its client contexts, no mime.types read."""
    if "aiohttp" in sys.modules:  # imported before (a test, another library): as it is
        return
    ssl.SSLContext.set_default_verify_paths = lambda self: None  # type: ignore[method-assign]
    mimetypes_read = mimetypes.inited
    mimetypes.inited = True  # aiohttp's MimeTypes() reads no file: mimetypes reads it on use
    try:
        import aiohttp.connector
        import aiohttp.web_fileresponse
    finally:  # SSLContext's own method again (it is _ssl._SSLContext's)
        del ssl.SSLContext.set_default_verify_paths
        mimetypes.inited = mimetypes_read
    if hasattr(aiohttp.connector, "_SSL_CONTEXT_VERIFIED"):
        aiohttp.connector._SSL_CONTEXT_VERIFIED = trusted_context()


_import_aiohttp_lean()

from aiohttp import web  # noqa: E402
from aiohttp.abc import AbstractStreamWriter  # noqa: E402
from aiohttp.http_parser import RawRequestMessage  # noqa: E402
from aiohttp.streams import StreamReader  # noqa: E402
from aiohttp.web_protocol import RequestHandler  # noqa: E402

__all__ = ["AbstractStreamWriter", "RawRequestMessage", "RequestHandler", "StreamReader", "web"]
