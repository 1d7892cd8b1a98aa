from __future__ import annotations

from api.db import Database, retry_cutover
from api.domain.channels import repositories as repo
from api.domain.channels.schemas import Channel, ChannelCreate, ChannelUpdate
from api.domain.errors import Forbidden, InvalidInput, NotFound
from api.domain.users.schemas import User
from api.sql import changed_fields

__all__ = ["ChannelService"]


class ChannelService:
    def __init__(self, db: Database) -> None:
        self.db = db

    @retry_cutover
    async def create(self, owner: User, data: ChannelCreate) -> Channel:
        async with self.db.primary.begin() as conn:
            channel_id = await repo.insert(conn, owner.user_id, data.title, data.description)
            channel = await repo.get(conn, channel_id)
        assert channel is not None
        return channel

    @retry_cutover
    async def get(self, channel_id: int) -> Channel:
        async with self.db.primary.connect() as conn:
            channel = await repo.get(conn, channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} not found")
        return channel

    async def get_owned(self, user: User, channel_id: int) -> Channel:
        channel = await self.get(channel_id)
        if channel.owner_id != user.user_id:
            raise Forbidden(f"channel {channel_id} belongs to another user")
        return channel

    async def update(self, user: User, channel_id: int, patch: ChannelUpdate) -> Channel:
        fields = changed_fields(patch)
        if not fields:
            raise InvalidInput("body", "nothing to update: send title and/or description")
        await self.get_owned(user, channel_id)
        async with self.db.primary.begin() as conn:
            await repo.update(conn, channel_id, fields)
            channel = await repo.get(conn, channel_id)
        assert channel is not None
        return channel
