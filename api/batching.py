"""Group commit for Redis: the calls that concurrent requests make to one script are sent as a
single script call over many items, one round trip for all of them.

redis-py spends far more CPU on a round trip (pool checkout, packing, a socket wake-up, parsing)
than Redis spends running a short script, so on the hottest paths (recording a view, the rate
limiter) each request only queues its item and awaits its own result. While one batch is in
flight the next one gathers; an idle process sends a lone item at once, so nothing waits for a
timer. The script runs atomically in Redis: a batch is applied whole or, if Redis fails, not
known to be applied and every caller in it gets the error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 512  # bounds one script's run time in Redis (a few hundred microseconds)


class Coalescer(Generic[Item, Result]):
    """`await submit(item)` runs `run_batch` over the items submitted meanwhile; one batch in flight."""

    def __init__(self, run_batch: Callable[[list[Item]], Awaitable[Sequence[Result]]]) -> None:
        self._run_batch = run_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        return await self.enqueue(item)

    def enqueue(self, item: Item) -> asyncio.Future[Result]:
        """Queue `item` for the next batch; its future has the result (for a caller that need not
        wait for it: see api.ratelimit.RateLimiter)."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._drainer is None:
            # Starts on the loop's next turn, so every request of this turn joins the first batch.
            self._drainer = asyncio.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    results = await self._run_batch([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # a caller that went away
                        future.set_result(result)
        finally:
            self._drainer = None
            # Cancelled (the loop is closing): nobody is left waiting forever.
            for _, future in [*batch, *self._queue]:
                if not future.done():
                    future.cancel()
            self._queue = []
