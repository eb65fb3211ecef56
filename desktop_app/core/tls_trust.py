"""The CA certificates the node's HTTP clients trust, loaded once per process (issue 17)."""

import functools
import ssl

import httpx

__all__ = ["trusted_context"]


@functools.cache
def trusted_context(trust_env: bool = True) -> ssl.SSLContext:
    """What httpx builds for `verify=True` (certifi's CAs; $SSL_CERT_FILE / $SSL_CERT_DIR when
    `trust_env`), built once: each client's own copy held all the CAs again (~0.8 MB each)."""
    return httpx.create_ssl_context(trust_env=trust_env)
