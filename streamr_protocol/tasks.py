"""`cancel_and_wait(task)`: cancel a task and wait for its end, never swallowing the caller's own
cancellation (the node and the coordinator alike)."""

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: "asyncio.Task[Any]") -> None:
    """Cancel `task` and wait until it ended; a cancellation aimed at the caller is raised.

    `with suppress(CancelledError): await task` also swallowed a cancel of the caller that came
    meanwhile (the heartbeat task stopping a puller when Node.stop cancelled it): the caller ran
    on and whoever awaited it waited forever.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
