"""Exponential backoff with jitter, shared by the origin puller and the heartbeat loop."""

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays that double from `initial` up to `maximum`, each with ±`jitter` spread."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0, jitter: float = 0.2) -> None:
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self.failures = 0

    def next(self) -> float:
        """Return the next delay and count a failure."""
        delay = min(self.maximum, self.initial * 2.0**self.failures)
        self.failures = min(self.failures + 1, 32)
        return delay * random.uniform(1 - self.jitter, 1 + self.jitter)

    def reset(self) -> None:
        self.failures = 0
