from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, put

from api.contract import KEY, answers
from api.deps import CurrentUser, Feeds, provide_feeds
from api.domain.videos.schemas import VideoOut
from api.pagination import Page
from api.params import ChannelId, Cursor, PageLimit


class Subscriptions(msgspec.Struct):
    channel_ids: list[int]


class FeedController(Controller):
    path = "/v1/me"
    tags = ["feeds"]
    dependencies = {"feeds": provide_feeds}

    @put(
        "/subscriptions/{channel_id:int}",
        status_code=204,
        summary="Subscribe to a channel",
        responses=answers(401, 404),
        security=KEY,
    )
    async def subscribe(self, feeds: Feeds, user: CurrentUser, channel_id: ChannelId) -> None:
        await feeds.subscribe(user, channel_id)

    @delete(
        "/subscriptions/{channel_id:int}",
        summary="Unsubscribe from a channel",
        responses=answers(401, 404),
        security=KEY,
    )
    async def unsubscribe(self, feeds: Feeds, user: CurrentUser, channel_id: ChannelId) -> None:
        await feeds.unsubscribe(user, channel_id)

    @get(
        "/subscriptions",
        summary="The channels the caller subscribes to, newest first",
        responses=answers(401),
        security=KEY,
    )
    async def list_subscriptions(self, feeds: Feeds, user: CurrentUser) -> Subscriptions:
        return Subscriptions(channel_ids=await feeds.subscriptions(user))

    @get(
        "/feed",
        summary="Home feed: newest ready public videos of subscribed channels",
        responses=answers(401),
        security=KEY,
    )
    async def home_feed(
        self, feeds: Feeds, user: CurrentUser, cursor: Cursor = None, limit: PageLimit = 20
    ) -> Page[VideoOut]:
        page = await feeds.home_feed(user, cursor, limit)
        return Page(items=[VideoOut.of(v) for v in page.items], next_cursor=page.next_cursor)
