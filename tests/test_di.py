"""Dependencies are resolved in the request's own task (api/di.py): no task per dependency."""

from __future__ import annotations

import asyncio

from httpx import ASGITransport, AsyncClient
from litestar import Litestar, get
from litestar.di import Provide

from api import di


async def test_providers_run_in_the_handlers_task() -> None:
    di.resolve_in_order()
    tasks: dict[str, asyncio.Task[object] | None] = {}

    async def first() -> int:
        tasks["first"] = asyncio.current_task()
        return 1

    async def second() -> int:
        tasks["second"] = asyncio.current_task()
        return 2

    async def third(first: int, second: int) -> int:  # a second batch, after the first two
        tasks["third"] = asyncio.current_task()
        return first + second

    @get("/", dependencies={"first": Provide(first), "second": Provide(second), "third": Provide(third)})
    async def handler(first: int, second: int, third: int) -> dict[str, int]:
        tasks["handler"] = asyncio.current_task()
        return {"sum": first + second + third}

    app = Litestar([handler])
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:  # type: ignore[arg-type]
        response = await client.get("/")
    assert response.json() == {"sum": 6}
    assert tasks["handler"] is not None
    assert tasks["first"] is tasks["second"] is tasks["third"] is tasks["handler"], tasks
