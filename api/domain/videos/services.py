from __future__ import annotations

import contextlib
from typing import Any

import redis.exceptions
from sqlalchemy.ext.asyncio import AsyncConnection

from api.db import retry_cutover
from api.domain.channels import services as channels
from api.domain.errors import Forbidden, InvalidInput, NotFound
from api.domain.processing import outbox
from api.domain.processing import repositories as outbox_repo
from api.domain.processing.repositories import Intent
from api.domain.users.schemas import User
from api.domain.videos import repositories as repo
from api.domain.videos.schemas import Video, VideoCreate, VideoUpdate
from api.pagination import Page, decode_cursor, page_of
from api.sql import changed_fields
from api.state import AppState


def _not_found(video_id: int) -> NotFound:
    return NotFound(f"video {video_id} not found")


@retry_cutover
async def find(state: AppState, video_id: int, viewer: User | None) -> Video | None:
    """From the cache (loaded from a replica); an authenticated caller who may own the video
    re-reads the primary, so owners always see their own writes."""
    video = await state.videos.get(
        video_id, lambda: state.db.read_replica(lambda conn: repo.get(conn, video_id))
    )
    if viewer is not None and (video is None or video.owner_id == viewer.user_id):
        async with state.db.primary.connect() as conn:
            video = await repo.get(conn, video_id)
    return video


async def get_visible(state: AppState, video_id: int, viewer: User | None) -> Video:
    """A video the caller may see; invisible ones are 404 so their existence does not leak."""
    video = await find(state, video_id, viewer)
    if video is None or not video.visible_to(viewer.user_id if viewer else None):
        raise _not_found(video_id)
    return video


@retry_cutover
async def get_owned(state: AppState, user: User, video_id: int) -> Video:
    async with state.db.primary.connect() as conn:
        video = await repo.get(conn, video_id)
    if video is None or not video.visible_to(user.user_id):
        raise _not_found(video_id)
    if video.owner_id != user.user_id:
        raise Forbidden(f"video {video_id} belongs to another user")
    return video


@retry_cutover
async def create(state: AppState, user: User, channel_id: int, data: VideoCreate) -> Video:
    await channels.get_owned(state, user, channel_id)
    async with state.db.primary.begin() as conn:
        video_id = await repo.insert(
            conn, channel_id, user.user_id, data.title, data.description, data.visibility
        )
        video = await repo.get(conn, video_id)
    assert video is not None
    await state.videos.put(video_id, video)
    return video


async def update(state: AppState, user: User, video_id: int, patch: VideoUpdate) -> Video:
    fields = changed_fields(patch)
    if not fields:
        raise InvalidInput("body", "nothing to update: send title, description and/or visibility")
    video = await get_owned(state, user, video_id)
    return await set_fields(state, video, fields)


async def set_fields(state: AppState, video: Video, fields: dict[str, Any], job: str | None = None) -> Video:
    """Write fields of one video (a single-shard statement by channel_id) and return it re-read.
    A status change is announced on the video's events channel. `job`: the kind of job the change
    makes, written to the outbox in the same transaction, then published."""
    intent = Intent(video.channel_id, video.video_id, job) if job else None
    async with state.db.primary.begin() as conn:
        await repo.update(conn, video.channel_id, video.video_id, fields)
        updated = await repo.get(conn, video.video_id)
        if updated is not None and intent is not None:
            await outbox_repo.add(conn, intent)
    if updated is None:  # deleted concurrently
        raise _not_found(video.video_id)
    if intent is not None:
        await outbox.publish(state, intent)
    await state.videos.put(video.video_id, updated)  # write-through: never a staler copy
    if "status" in fields:
        # Best effort: the status itself is in the database; listeners can always re-read it.
        with contextlib.suppress(redis.exceptions.RedisError):
            await state.redis.publish(state.events_channel(video.video_id), updated.status)
    return updated


async def set_status(state: AppState, video_id: int, fields: dict[str, Any]) -> Video | None:
    """set_fields for a video known by id only (the worker, the operator's CLI, seeding);
    None when it no longer exists."""
    async with state.db.primary.connect() as conn:
        video = await repo.get(conn, video_id)
    return None if video is None else await set_fields(state, video, fields)


async def delete(state: AppState, user: User, video_id: int) -> None:
    """Metadata goes at once; the blobs go through the queue (and the sweeper catches any left)."""
    video = await get_owned(state, user, video_id)
    intent = Intent(video.channel_id, video_id, "delete_blobs")
    async with state.db.primary.begin() as conn:
        await repo.delete(conn, video.channel_id, video_id)
        await outbox_repo.add(conn, intent)
    await state.videos.deleted(video_id)
    await outbox.publish(state, intent)


@retry_cutover
async def list_channel(
    state: AppState, channel_id: int, viewer: User | None, cursor: str | None, limit: int
) -> Page[Video]:
    """Owners list every video of their channel from the primary; everyone else gets the ready
    public ones from a replica."""
    before = decode_cursor(cursor)
    channel = await channels.get(state, channel_id)
    is_owner = viewer is not None and viewer.user_id == channel.owner_id

    async def read(conn: AsyncConnection) -> list[Video]:
        return await repo.list_channel(conn, channel_id, before, limit + 1, public_only=not is_owner)

    if is_owner:
        async with state.db.primary.connect() as conn:
            videos = await read(conn)
    else:
        videos = await state.db.read_replica(read)
    return page_of(videos, limit, key=lambda v: v.video_id)
