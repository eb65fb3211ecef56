"""Errors of the node core; each carries one line a friend can read.

Error
├── ConfigError              bad flags, unusable data dir, no identity and no invite
├── RelayPortError           the relay or status port cannot be bound (taken, no permission)
├── PlaylistError            the origin sent something that is not a playlist (type, encoding)
├── OriginError              fetching from the origin failed (HTTP status, size, type, network)
│   └── OriginRefused        the node's policy refuses the URL (other host, internal address)
└── CoordinatorError         talking to the coordinator failed
    ├── CoordinatorUnreachable   network error, timeout or 5xx: retry later
    ├── InviteRefused            bad, used or expired invite
    ├── TokenRejected            token revoked or node banned: stop
    └── CoordinatorProtocolError the answer did not match the wire format

HLS that does not parse raises streamr_protocol.hls.HlsError (shared with the coordinator).
"""

__all__ = [
    "ConfigError",
    "CoordinatorError",
    "CoordinatorProtocolError",
    "CoordinatorUnreachable",
    "Error",
    "InviteRefused",
    "OriginError",
    "OriginRefused",
    "PlaylistError",
    "RelayPortError",
    "TokenRejected",
]


class Error(Exception):
    """Base of every node-core error; str() is one line for the friend."""


class ConfigError(Error):
    pass


class RelayPortError(Error):
    pass


class PlaylistError(Error):
    pass


class OriginError(Error):
    pass


class OriginRefused(OriginError):
    pass


class CoordinatorError(Error):
    pass


class CoordinatorUnreachable(CoordinatorError):
    pass


class InviteRefused(CoordinatorError):
    pass


class TokenRejected(CoordinatorError):
    pass


class CoordinatorProtocolError(CoordinatorError):
    pass
