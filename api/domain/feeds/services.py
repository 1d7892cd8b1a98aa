from __future__ import annotations

from api.domain.channels import services as channels
from api.domain.feeds import repositories as repo
from api.domain.users.schemas import User
from api.domain.videos import repositories as videos
from api.domain.videos.schemas import Video
from api.pagination import Page, decode_cursor, page_of
from api.state import AppState


async def subscribe(state: AppState, user: User, channel_id: int) -> None:
    await channels.get(state, channel_id)  # 404 for an unknown channel
    async with state.db.primary.begin() as conn:
        await repo.subscribe(conn, user.user_id, channel_id)


async def unsubscribe(state: AppState, user: User, channel_id: int) -> None:
    async with state.db.primary.begin() as conn:
        await repo.unsubscribe(conn, user.user_id, channel_id)


async def subscriptions(state: AppState, user: User) -> list[int]:
    # The user's own writes: read from the primary.
    async with state.db.primary.connect() as conn:
        return await repo.channel_ids(conn, user.user_id)


async def home_feed(state: AppState, user: User, cursor: str | None, limit: int) -> Page[Video]:
    """Newest ready public videos of the user's subscriptions: their list from the primary (the user's
    own writes), the videos from a replica (bounded staleness, see README)."""
    before = decode_cursor(cursor)
    channel_ids = await subscriptions(state, user)
    items = await state.db.read_replica(lambda conn: videos.list_feed(conn, channel_ids, before, limit + 1))
    return page_of(items, limit, key=lambda v: v.video_id)
