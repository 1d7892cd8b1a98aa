"""App variants for the benchmark's equal-work comparisons, never served by `make run`: each is the
production app (`api.app.create_app`) with one piece swapped from the outside, so nothing in the
production modules or settings can turn them on.

- `row_per_view`: the naive baseline the buffer is measured against: every view one counter-row
  upsert in the database (the caller's rate-limit hit still counted in Redis, as the buffer does)."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.domain.views.buffer import Recorded, ViewBuffer
from api.ratelimit import FixedWindow, Limit
from api.wiring import Services

_ONE_VIEW = text(
    "INSERT INTO video_views (channel_id, video_id, views) VALUES (:channel_id, :video_id, 1) "
    "ON DUPLICATE KEY UPDATE views = views + 1"
)


class RowPerView(ViewBuffer):
    """A view buffer that buffers nothing: each view is a row update, committed before the answer."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        super().__init__(services.redis, settings.redis_prefix, settings.view_dedupe_seconds)
        self.engine: AsyncEngine = services.db.primary
        self.window: FixedWindow = services.limiter.window

    async def _add_one(self, channel_id: int, video_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(_ONE_VIEW, {"channel_id": channel_id, "video_id": video_id})

    async def record(self, channel_id: int, video_id: int, viewer: str) -> bool:
        await self._add_one(channel_id, video_id)
        return True

    async def record_within(self, channel_id: int, video_id: int, viewer: str, limit: Limit) -> Recorded:
        hits, reset = await self.window.hit_key(limit.key)
        if hits > limit.max_hits:
            return Recorded(-1, hits, reset)
        await self._add_one(channel_id, video_id)
        return Recorded(1, hits, reset)


def row_per_view() -> Litestar:
    app = create_app()

    def swap_buffer(started: Litestar) -> None:  # after the lifespan has made the app's services
        services: Services = started.state.services
        services.views.buffer = RowPerView(services)

    app.on_startup.append(swap_buffer)
    return app
