"""The node's HTTP clients share one set of trusted CAs (issue 17: each copy cost ~0.8 MB)."""

import ssl
import subprocess
import sys

from desktop_app.core.tls_trust import trusted_context


def test_one_context_per_process_that_verifies_servers() -> None:
    context = trusted_context()

    assert trusted_context() is context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


def test_clients_that_ignore_the_environment_get_their_own() -> None:
    assert trusted_context(trust_env=False) is not trusted_context()
    assert trusted_context(trust_env=False).cert_store_stats()["x509_ca"] > 0


AIOHTTP_CONTEXTS = """
import mimetypes
import ssl
import desktop_app.core.node
import aiohttp.connector as connector
from desktop_app.core.tls_trust import trusted_context

print(connector._SSL_CONTEXT_UNVERIFIED.cert_store_stats()["x509_ca"],
      connector._SSL_CONTEXT_VERIFIED is trusted_context(),
      "set_default_verify_paths" not in vars(ssl.SSLContext),
      mimetypes.inited, mimetypes.guess_type("a.m3u8")[0], mimetypes.inited)
"""


def test_the_node_loads_no_cas_into_aiohttps_client_contexts() -> None:
    """aiohttp builds two client contexts at import, each with the system's CAs (~1 MB each);
    the node only serves with aiohttp: they hold none, and a verifying aiohttp client would
    trust what the node's clients trust. SSLContext's own method is back afterwards, and the
    system's mime.types is read when `mimetypes` is first asked, not at import."""
    out = subprocess.run(
        [sys.executable, "-c", AIOHTTP_CONTEXTS], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [
        "0", "True", "True", "False", "application/vnd.apple.mpegurl", "True"
    ]  # fmt: skip
