"""The node's version: the installed package's, or 0.1.0 from a source tree."""

import importlib.metadata

__all__ = ["node_version"]


def node_version() -> str:
    """Return the version of the installed streamrp2p package."""
    try:
        return importlib.metadata.version("streamrp2p")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"
