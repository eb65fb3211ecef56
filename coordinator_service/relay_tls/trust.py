"""What the prober trusts on HTTPS relays: the usual CAs, plus the host's own CA file if given
(a private CA, or pebble's root in tests)."""

import ssl
from pathlib import Path

import certifi

__all__ = ["relay_trust"]


def relay_trust(ca_file: Path | None) -> ssl.SSLContext | bool:
    """`verify=` for an httpx client that fetches relays: True (the defaults) without a file."""
    if ca_file is None:
        return True
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_verify_locations(cafile=str(ca_file))
    return context
