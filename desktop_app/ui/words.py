"""Plain words for what the host's checks found, for a friend who never ran a server; Qt-free."""

__all__ = ["check_reason", "state_words"]

_REASONS = {
    "ok": "passed",
    "refused": "your computer refused the connection (is the app's port blocked?)",
    "timeout": "your computer did not answer in time (slow connection or port not open)",
    "unreachable": "your computer could not be reached from the internet (port not open)",
    "http_error": "your app answered with an error",
    "no_relay": "the host does not know your address yet",
    "private_address": "the host only sees a home-network address for you",
    "hash_mismatch": "the video your app sent did not match the stream",
    "stale": "your app sent video that was too old",
    "stale_playlist": "your app's copy of the stream was behind",
    "not_owned": "another computer answered at your address",
}

_STATES = {
    "healthy": "in good standing",
    "new": "new: the host has not heard from this app yet",
    "flagged": "under review: several checks failed",
    "silent": "out of touch: the host has not heard from this app lately",
    "unreachable": "not reachable from the internet",
    "banned": "removed by the host",
}


def check_reason(reason: str) -> str:
    """What a failed check means, in one short phrase."""
    return _REASONS.get(reason, reason.replace("_", " "))


def state_words(state: str) -> str:
    """The host's verdict on this app, in plain words."""
    return _STATES.get(state, state)
