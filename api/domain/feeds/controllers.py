from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, put

from api.contract import KEY, answers
from api.deps import App, CurrentUser
from api.domain.feeds import services
from api.domain.videos.schemas import VideoOut
from api.pagination import Page
from api.params import ChannelId, Cursor, PageLimit


class Subscriptions(msgspec.Struct):
    channel_ids: list[int]


class FeedController(Controller):
    path = "/v1/me"
    tags = ["feeds"]

    @put(
        "/subscriptions/{channel_id:int}",
        status_code=204,
        summary="Subscribe to a channel",
        responses=answers(401, 404),
        security=KEY,
    )
    async def subscribe(self, app: App, user: CurrentUser, channel_id: ChannelId) -> None:
        await services.subscribe(app, user, channel_id)

    @delete(
        "/subscriptions/{channel_id:int}",
        summary="Unsubscribe from a channel",
        responses=answers(401, 404),
        security=KEY,
    )
    async def unsubscribe(self, app: App, user: CurrentUser, channel_id: ChannelId) -> None:
        await services.unsubscribe(app, user, channel_id)

    @get(
        "/subscriptions",
        summary="The channels the caller subscribes to, newest first",
        responses=answers(401),
        security=KEY,
    )
    async def list_subscriptions(self, app: App, user: CurrentUser) -> Subscriptions:
        return Subscriptions(channel_ids=await services.subscriptions(app, user))

    @get(
        "/feed",
        summary="Home feed: newest ready public videos of subscribed channels",
        responses=answers(401),
        security=KEY,
    )
    async def home_feed(
        self, app: App, user: CurrentUser, cursor: Cursor = None, limit: PageLimit = 20
    ) -> Page[VideoOut]:
        page = await services.home_feed(app, user, cursor, limit)
        return Page(items=[VideoOut.of(v) for v in page.items], next_cursor=page.next_cursor)
