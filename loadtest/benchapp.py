"""App variants for the benchmark's equal-work comparisons, never served by `make run`: each is the
production app (`api.app.create_app`) with one piece swapped from the outside, so nothing in the
production modules or settings can turn them on.

- `routed_one_redis_call`: the view route through Litestar's router making the same single Redis
  call per view as the fast path. As served (`VIDSTORE_VIEW_FAST_PATH=0`) the router's rate-limit
  middleware makes a call of its own before the view's script; here that route opts out of it, so
  fast path and router differ only in the framework's per-request work.
- `row_per_view`: the naive baseline the buffer is measured against: every view one counter-row
  upsert in the database (the caller's rate-limit hit still counted in Redis, as the buffer does)."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import VidstoreApp, create_app
from api.domain.views.buffer import Recorded, ViewBuffer
from api.domain.views.controllers import ViewController
from api.ratelimit import FixedWindow, Limit
from api.ratelimit_middleware import RateLimitMiddleware
from api.state import AppState

_ONE_VIEW = text(
    "INSERT INTO video_views (channel_id, video_id, views) VALUES (:channel_id, :video_id, 1) "
    "ON DUPLICATE KEY UPDATE views = views + 1"
)


class RowPerView(ViewBuffer):
    """A view buffer that buffers nothing: each view is a row update, committed before the answer."""

    def __init__(self, state: AppState) -> None:
        super().__init__(state.redis, state.settings.redis_prefix, state.settings.view_dedupe_seconds)
        self.engine: AsyncEngine = state.db.primary
        self.window: FixedWindow = state.limiter.window

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


def routed_one_redis_call() -> VidstoreApp:
    ViewController.record_view.opt[RateLimitMiddleware.exclude_opt_key] = True
    app = create_app()
    app.view_fast_path = False
    return app


def row_per_view() -> VidstoreApp:
    app = create_app()

    def swap_buffer(started: Litestar) -> None:  # after the lifespan has made the app's state
        state: AppState = started.state.app
        state.views = RowPerView(state)

    app.on_startup.append(swap_buffer)
    return app
