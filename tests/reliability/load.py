"""Heartbeat and registration load from threads, keeping what the coordinator acknowledged."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.reliability.conftest import FakeNode, beat, register

__all__ = ["Load"]


@dataclass
class Load:
    """Nodes beating every `pause` seconds, and new nodes joining, until `stop()`.

    Failures (connection refused while the coordinator is down, 5xx, …) are counted by kind and
    retried; only 200 answers count as acknowledged.
    """

    url: str
    nodes: list[FakeNode]
    invite_code: str | None = None
    pause: float = 0.05
    joined: list[FakeNode] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Load":
        for node in self.nodes:
            self._spawn(self._beat_forever, node)
        if self.invite_code:
            self._spawn(self._join_forever)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _count(self, status: int | None, failure: str | None = None) -> None:
        with self._lock:
            if status is not None:
                self.statuses[status] += 1
            if failure:
                self.failures[failure] += 1

    def _beat_forever(self, node: FakeNode) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                try:
                    self._count(beat(client, self.url, node).status_code)
                except httpx.HTTPError as exc:
                    self._count(None, type(exc).__name__)
                time.sleep(self.pause)

    def _join_forever(self) -> None:
        assert self.invite_code is not None
        with httpx.Client(timeout=5) as client:
            index = 0
            while not self._stop.is_set():
                index += 1
                try:
                    node = register(client, self.url, self.invite_code, f"j{index}")
                except AssertionError:
                    self._count(None, "register refused")
                except httpx.HTTPError as exc:
                    self._count(None, type(exc).__name__)
                else:
                    with self._lock:
                        self.joined.append(node)
                time.sleep(self.pause * 2)
