"""A friend's pause, announced in the heartbeat: the node stays known, relays and earns nothing.

A paused beat keeps the node from turning silent; it carries no live stream, so it opens no
credited stream interval and the prober stops picking the node once its relaying window ends.
A probe failure of a node whose latest beat said "paused" is stored but not counted.
"""

__all__ = ["PAUSED_REPORT", "is_paused"]

PAUSED_REPORT = '{"paused":true}'
"""What a paused beat stores as the node's reported streams."""


def is_paused(streams_reported: str | None) -> bool:
    """Whether the node's latest beat announced a pause."""
    return streams_reported == PAUSED_REPORT
