"""The controller between the UI and the node core: what it leaves running after a stop."""

import asyncio

from desktop_app.ui.controller import NodeController
from desktop_app.ui.settings import TraySettings


class SlowStartNode:
    """Just enough of a node: its start ends only when the test releases it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.starting = False
        self.calls: list[str] = []

    def subscribe(self, listener):
        return lambda: None

    async def start(self) -> None:
        self.starting = True
        await self.release.wait()
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")

    async def pause(self) -> None:
        self.calls.append("pause")

    async def resume(self) -> None:
        self.calls.append("resume")


def test_quit_while_the_node_starts_leaves_no_timer_running(qtbot, qloop, model) -> None:
    """The relay's start event reaches the window before the start call returns: a Quit (or a
    "Use another port" restart) in between left the stopped controller polling forever."""
    node = SlowStartNode()
    controller = NodeController(node, model, TraySettings(supporting=False), lambda s: None)
    starting = controller.start()
    qtbot.wait_until(lambda: node.starting)
    with qtbot.wait_signal(controller.stopped, timeout=5_000):
        controller.shutdown()
    node.release.set()
    qtbot.wait_until(starting.done)
    timers = (controller.poll, controller.earnings_poll, controller.limits_timer)
    assert [t.isActive() for t in timers] == [False, False, False]
    assert node.calls == ["stop", "start"]  # and no pause sent to a stopped node
