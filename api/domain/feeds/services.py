from __future__ import annotations

from api.db import Database
from api.domain.channels.services import ChannelService
from api.domain.feeds import repositories as repo
from api.domain.users.schemas import User
from api.domain.videos import repositories as videos
from api.domain.videos.schemas import Video
from api.pagination import Page, decode_cursor, page_of

__all__ = ["FeedService"]


class FeedService:
    def __init__(self, db: Database, channels: ChannelService) -> None:
        self.db, self.channels = db, channels

    async def subscribe(self, user: User, channel_id: int) -> None:
        await self.channels.get(channel_id)  # 404 for an unknown channel
        async with self.db.primary.begin() as conn:
            await repo.subscribe(conn, user.user_id, channel_id)

    async def unsubscribe(self, user: User, channel_id: int) -> None:
        async with self.db.primary.begin() as conn:
            await repo.unsubscribe(conn, user.user_id, channel_id)

    async def subscriptions(self, user: User) -> list[int]:
        # The user's own writes: read from the primary.
        async with self.db.primary.connect() as conn:
            return await repo.channel_ids(conn, user.user_id)

    async def home_feed(self, user: User, cursor: str | None, limit: int) -> Page[Video]:
        """Newest ready public videos of the user's subscriptions: their list from the primary (the
        user's own writes), the videos from a replica (bounded staleness, see README)."""
        before = decode_cursor(cursor)
        channel_ids = await self.subscriptions(user)
        items = await self.db.read_replica(
            lambda conn: videos.list_feed(conn, channel_ids, before, limit + 1)
        )
        return page_of(items, limit, key=lambda v: v.video_id)
