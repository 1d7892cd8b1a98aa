from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import JSONBody

from api.contract import KEY, answers
from api.deps import Channels, CurrentUser, provide_channels
from api.domain.channels.schemas import Channel, ChannelCreate, ChannelUpdate
from api.params import ChannelId


class ChannelController(Controller):
    path = "/v1/channels"
    tags = ["channels"]
    dependencies = {"channels": provide_channels}

    @post(
        "/", summary="Create a channel owned by the caller", responses=answers(401, body=True), security=KEY
    )
    async def create_channel(
        self, channels: Channels, user: CurrentUser, data: JSONBody[ChannelCreate]
    ) -> Channel:
        return await channels.create(user, data)

    @get("/{channel_id:int}", summary="Get a channel", responses=answers(404))
    async def get_channel(self, channels: Channels, channel_id: ChannelId) -> Channel:
        return await channels.get(channel_id)

    @patch(
        "/{channel_id:int}",
        summary="Update a channel (owner only)",
        responses=answers(401, 403, 404, body=True),
        security=KEY,
    )
    async def update_channel(
        self,
        channels: Channels,
        user: CurrentUser,
        channel_id: ChannelId,
        data: JSONBody[ChannelUpdate],
    ) -> Channel:
        return await channels.update(user, channel_id, data)
