from __future__ import annotations

from api.db import retry_cutover
from api.domain.channels import repositories as repo
from api.domain.channels.schemas import Channel, ChannelCreate, ChannelUpdate
from api.domain.errors import Forbidden, InvalidInput, NotFound
from api.domain.users.schemas import User
from api.sql import changed_fields
from api.state import AppState


@retry_cutover
async def create(state: AppState, owner: User, data: ChannelCreate) -> Channel:
    async with state.db.primary.begin() as conn:
        channel_id = await repo.insert(conn, owner.user_id, data.title, data.description)
        channel = await repo.get(conn, channel_id)
    assert channel is not None
    return channel


@retry_cutover
async def get(state: AppState, channel_id: int) -> Channel:
    async with state.db.primary.connect() as conn:
        channel = await repo.get(conn, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} not found")
    return channel


async def get_owned(state: AppState, user: User, channel_id: int) -> Channel:
    channel = await get(state, channel_id)
    if channel.owner_id != user.user_id:
        raise Forbidden(f"channel {channel_id} belongs to another user")
    return channel


async def update(state: AppState, user: User, channel_id: int, patch: ChannelUpdate) -> Channel:
    fields = changed_fields(patch)
    if not fields:
        raise InvalidInput("body", "nothing to update: send title and/or description")
    await get_owned(state, user, channel_id)
    async with state.db.primary.begin() as conn:
        await repo.update(conn, channel_id, fields)
        channel = await repo.get(conn, channel_id)
    assert channel is not None
    return channel
