"""Stopping in the node core: cancelled loops end whatever they were doing (a lost cancel hung
Node.stop, which awaits the heartbeat task it cancelled); a pause racing a heartbeat answer stops
each stream once."""

import asyncio

import httpx

from desktop_app.core.client import CoordinatorClient
from desktop_app.core.heartbeat import HeartbeatLoop
from desktop_app.core.relay.puller import StreamPuller
from streamr_protocol import HeartbeatRequest
from streamr_protocol.tasks import cancel_and_wait
from tests.node.helpers import running_relay

ENDS_WITHIN_S = 10  # a correct cancel ends in a few loop turns; a lost one never


async def ended_cancelled(task: asyncio.Task[object]) -> bool:
    """Wait (bounded) for `task`; True when it ended by its cancellation."""
    await asyncio.wait([task], timeout=ENDS_WITHIN_S)
    ended = task.done()
    if not ended:
        task.cancel()  # leave nothing running behind
    return ended and task.cancelled()


async def test_a_heartbeat_loop_woken_and_cancelled_at_once_ends() -> None:
    """Python 3.11's wait_for lost a cancel that came with a wake-up (a stream going live,
    a pause): the loop beat on and Node.stop waited for it forever."""
    builds: list[int] = []

    def build() -> HeartbeatRequest:
        builds.append(1)
        raise ValueError("no beat in this test")  # no network: the loop waits its backoff

    async def ignore(*args: object) -> None:
        return None

    client = CoordinatorClient("http://127.0.0.1:9")
    beats = HeartbeatLoop(client, build, ignore, lambda *a: None, ignore, backoff_max_s=60)
    try:
        for _ in range(3):  # each time: woken and cancelled in the same turn of the loop
            builds.clear()
            task = asyncio.create_task(beats.run())
            while not builds:
                await asyncio.sleep(0)
            beats.beat_now()
            task.cancel()
            assert await ended_cancelled(task)
    finally:
        await client.aclose()


async def test_stopping_a_puller_does_not_swallow_the_callers_cancel() -> None:
    """The heartbeat task stops pullers when the assignment changes; a cancel of the heartbeat
    task in that moment was swallowed, and it beat on."""
    async with httpx.AsyncClient() as http:
        puller = StreamPuller("one", "http://127.0.0.1:9/live/one.m3u8", http)
        puller.start()
        await asyncio.sleep(0)
        stopper = asyncio.create_task(puller.stop())
        await asyncio.sleep(0)  # the stopper now waits for the puller's task to end
        stopper.cancel()
        assert await ended_cancelled(stopper)
        assert puller.live is False


async def test_cancel_and_wait_keeps_a_task_ending_by_its_own_cancel_quiet() -> None:
    sleeper = asyncio.create_task(asyncio.sleep(60))
    await asyncio.sleep(0)
    await cancel_and_wait(sleeper)  # no CancelledError: the caller was not cancelled
    assert sleeper.cancelled()


async def test_a_pause_and_a_heartbeat_answer_stop_the_streams_together() -> None:
    """Node.pause and the heartbeat task both call set_streams; the one that resumed second
    looked up a stream the other had already removed (KeyError)."""
    streams = {name: f"http://127.0.0.1:9/live/{name}.m3u8" for name in ("one", "two")}
    async with running_relay(streams) as relay:
        relay.paused = True  # as Node.pause does before it stops the streams
        await asyncio.gather(relay.set_streams({}), relay.set_streams(streams))
        assert relay.pullers == {}
