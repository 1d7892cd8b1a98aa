"""api.batching: concurrent calls become one batch; each caller gets its own result or the batch's error."""

from __future__ import annotations

import asyncio

import pytest

from api.batching import Coalescer


class Recorder:
    """A batch function that remembers its batches. `started` is set when one is in flight, which
    then waits for `gate` (open by default) like a Redis round trip; `fail` makes the next raise."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail = False
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    async def run(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        self.started.set()
        await self.gate.wait()
        if self.fail:
            self.fail = False
            raise ConnectionError("redis went away")
        return [item * 10 for item in items]


async def test_concurrent_calls_share_one_batch_and_get_their_own_results() -> None:
    recorder = Recorder()
    batcher = Coalescer(recorder.run)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(100)))
    assert results == [i * 10 for i in range(100)]
    assert recorder.batches == [list(range(100))]
    assert await batcher.submit(7) == 70  # an idle batcher sends a lone item at once
    assert recorder.batches[-1] == [7]


async def test_callers_arriving_during_a_batch_form_the_next_one() -> None:
    recorder = Recorder()
    batcher = Coalescer(recorder.run)
    recorder.gate.clear()
    first = asyncio.ensure_future(batcher.submit(1))
    await recorder.started.wait()  # the batch [1] is in flight, held at the gate
    later = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3, 4)]
    # Callbacks run in the order they were scheduled: the three callers queue before the gate opens.
    asyncio.get_running_loop().call_soon(recorder.gate.set)
    assert await asyncio.gather(first, *later) == [10, 20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_works() -> None:
    recorder = Recorder()
    batcher = Coalescer(recorder.run)
    recorder.fail = True
    outcomes = await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert await batcher.submit(5) == 50


async def test_a_caller_that_goes_away_does_not_disturb_the_others() -> None:
    recorder = Recorder()
    batcher = Coalescer(recorder.run)
    recorder.gate.clear()
    leaving = asyncio.ensure_future(batcher.submit(1))
    staying = asyncio.ensure_future(batcher.submit(2))
    await recorder.started.wait()  # both are in the batch in flight
    leaving.cancel()
    recorder.gate.set()
    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert recorder.batches == [[1, 2]]
