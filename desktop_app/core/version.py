"""The node's version: the installed package's, or 0.1.0 from a source tree."""

import functools
import importlib.metadata

__all__ = ["node_version"]


@functools.cache
def node_version() -> str:
    """Return the version of the installed streamrp2p package (looked up once: the tray app,
    its window and every heartbeat share it)."""
    try:
        return importlib.metadata.version("streamrp2p")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"
