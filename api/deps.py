"""Dependency providers: one per service, and the caller's identity.

The app keeps the process's `api.wiring.Services` in its state (`app.state.services`, set by the
lifespan). A controller declares the services it uses in its own `dependencies`, with the
providers below (as litestar-fullstack does), and its handlers name them as typed parameters: a
handler's signature is the whole list of what it touches. The caller's identity (`caller`,
`viewer`, `user`) is provided app-wide."""

from __future__ import annotations

from typing import Any, TypeVar

import redis.asyncio as aioredis
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException

from api.caller import Caller
from api.db import Database
from api.domain.channels.services import ChannelService
from api.domain.feeds.services import FeedService
from api.domain.playback.services import PlaybackService
from api.domain.uploads.services import UploadService
from api.domain.users.schemas import User
from api.domain.users.services import UserService
from api.domain.videos.services import VideoService
from api.domain.views.buffer import ViewBuffer
from api.domain.views.services import ViewService
from api.security import bearer_token
from api.settings import Settings

__all__ = [
    "AppSettings",
    "Buffer",
    "Channels",
    "CurrentUser",
    "Db",
    "Feeds",
    "Playback",
    "Redis",
    "RequestCaller",
    "Uploads",
    "Users",
    "Videos",
    "Viewer",
    "Views",
    "dependencies",
    "provide_buffer",
    "provide_channels",
    "provide_db",
    "provide_feeds",
    "provide_playback",
    "provide_redis",
    "provide_settings",
    "provide_uploads",
    "provide_users",
    "provide_videos",
    "provide_views",
    "viewer_of",
]

# How handlers ask for the caller (Litestar matches dependencies by name).
RequestCaller = NamedDependency[Caller]  # who sent the request: address, key header, user agent
Viewer = NamedDependency[User | None]  # the caller, or None when anonymous
CurrentUser = NamedDependency[User]  # the caller; anonymous -> 401

# How handlers ask for a service or a resource (each controller declares its provider).
Users = NamedDependency[UserService]
Channels = NamedDependency[ChannelService]
Videos = NamedDependency[VideoService]
Feeds = NamedDependency[FeedService]
Views = NamedDependency[ViewService]
Uploads = NamedDependency[UploadService]
Playback = NamedDependency[PlaybackService]
Db = NamedDependency[Database]
Redis = NamedDependency[aioredis.Redis]
Buffer = NamedDependency[ViewBuffer]
AppSettings = NamedDependency[Settings]

T = TypeVar("T")


def provider(name: str, kind: type[T]) -> Provide:
    """The provider of `state.services.<name>` (an `api.wiring.Services` field), checked to be a `kind`."""

    def provide(state: State) -> T:
        found = getattr(state.services, name)
        assert isinstance(found, kind), f"state.services.{name} is a {type(found).__name__}"
        return found

    return Provide(provide, sync_to_thread=False)


# Resources, for the few edge routes that use one directly (health checks, metrics, files).
provide_settings = provider("settings", Settings)
provide_db = provider("db", Database)
provide_redis = provider("redis", aioredis.Redis)
provide_buffer = provider("buffer", ViewBuffer)
# Services.
provide_users = provider("users", UserService)
provide_channels = provider("channels", ChannelService)
provide_videos = provider("videos", VideoService)
provide_feeds = provider("feeds", FeedService)
provide_views = provider("views", ViewService)
provide_uploads = provider("uploads", UploadService)
provide_playback = provider("playback", PlaybackService)


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    return Caller.of(request.scope)


async def provide_viewer(users: Users, caller: RequestCaller) -> User | None:
    return await viewer_of(users, caller)


async def viewer_of(users: UserService, caller: Caller) -> User | None:
    """The authenticated user, or None for an anonymous request; a bad key is a 401, never anonymous."""
    if caller.authorization is None:
        return None
    token = bearer_token(caller.authorization)
    if token is None:
        raise NotAuthorizedException(detail="Authorization must be 'Bearer <api key>'")
    return await users.authenticate(token, caller.ip)


def provide_user(viewer: Viewer) -> User:
    if viewer is None:
        raise NotAuthorizedException(
            detail="this call needs an API key: Authorization: Bearer <api key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer


# App-wide: who is calling. Every route may authenticate, so the users service is here too.
dependencies = {
    "users": provide_users,
    "caller": Provide(provide_caller, sync_to_thread=False),
    "viewer": Provide(provide_viewer),
    "user": Provide(provide_user, sync_to_thread=False),
}
