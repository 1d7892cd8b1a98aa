from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from api.db import Database, retry_cutover
from api.domain.channels.services import ChannelService
from api.domain.errors import Forbidden, InvalidInput, NotFound
from api.domain.jobs import repositories as outbox_repo
from api.domain.jobs.outbox import Outbox
from api.domain.jobs.repositories import Intent
from api.domain.users.schemas import User
from api.domain.videos import repositories as repo
from api.domain.videos.cache import VideoCache
from api.domain.videos.events import VideoEvents
from api.domain.videos.schemas import Video, VideoCreate, VideoUpdate
from api.pagination import Page, decode_cursor, page_of
from api.sql import changed_fields

__all__ = ["VideoService"]


def _not_found(video_id: int) -> NotFound:
    return NotFound(f"video {video_id} not found")


class VideoService:
    """Videos' metadata: who may see and change them, the cache in front of the replicas, the
    status events and the jobs a change makes (through the outbox)."""

    def __init__(
        self,
        db: Database,
        cache: VideoCache,
        channels: ChannelService,
        outbox: Outbox,
        events: VideoEvents,
    ) -> None:
        self.db, self.cache, self.channels, self.outbox, self.events = db, cache, channels, outbox, events

    @retry_cutover
    async def find(self, video_id: int, viewer: User | None) -> Video | None:
        """From the cache (loaded from a replica); an authenticated caller who may own the video
        re-reads the primary, so owners always see their own writes."""
        video = await self.cache.get(
            video_id, lambda: self.db.read_replica(lambda conn: repo.get(conn, video_id))
        )
        if viewer is not None and (video is None or video.owner_id == viewer.user_id):
            async with self.db.primary.connect() as conn:
                video = await repo.get(conn, video_id)
        return video

    async def latest(self, video_id: int) -> Video | None:
        """The primary's copy, whoever may see it (the worker, the sweeper, the operator's CLI)."""
        async with self.db.primary.connect() as conn:
            return await repo.get(conn, video_id)

    async def get_visible(self, video_id: int, viewer: User | None) -> Video:
        """A video the caller may see; invisible ones are 404 so their existence does not leak."""
        video = await self.find(video_id, viewer)
        if video is None or not video.visible_to(viewer.user_id if viewer else None):
            raise _not_found(video_id)
        return video

    @retry_cutover
    async def get_owned(self, user: User, video_id: int) -> Video:
        async with self.db.primary.connect() as conn:
            video = await repo.get(conn, video_id)
        if video is None or not video.visible_to(user.user_id):
            raise _not_found(video_id)
        if video.owner_id != user.user_id:
            raise Forbidden(f"video {video_id} belongs to another user")
        return video

    @retry_cutover
    async def create(self, user: User, channel_id: int, data: VideoCreate) -> Video:
        await self.channels.get_owned(user, channel_id)
        async with self.db.primary.begin() as conn:
            video_id = await repo.insert(
                conn, channel_id, user.user_id, data.title, data.description, data.visibility
            )
            video = await repo.get(conn, video_id)
        assert video is not None
        await self.cache.put(video_id, video)
        return video

    async def update(self, user: User, video_id: int, patch: VideoUpdate) -> Video:
        fields = changed_fields(patch)
        if not fields:
            raise InvalidInput("body", "nothing to update: send title, description and/or visibility")
        video = await self.get_owned(user, video_id)
        # A visibility change reaches the edges (their revocations) through the outbox.
        return await self.set_fields(video, fields, "sync_edges" if "visibility" in fields else None)

    async def set_fields(self, video: Video, fields: dict[str, Any], job: str | None = None) -> Video:
        """Write fields of one video (a single-shard statement by channel_id) and return it re-read.
        A status change is announced on the video's events channel. `job`: the kind of job the
        change makes, written to the outbox in the same transaction, then published."""
        intent = Intent(video.channel_id, video.video_id, job) if job else None
        async with self.db.primary.begin() as conn:
            await repo.update(conn, video.channel_id, video.video_id, fields)
            updated = await repo.get(conn, video.video_id)
            if updated is not None and intent is not None:
                await outbox_repo.add(conn, intent)
        if updated is None:  # deleted concurrently
            raise _not_found(video.video_id)
        if intent is not None:
            await self.outbox.publish(intent)
        await self.cache.put(video.video_id, updated)  # write-through: never a staler copy
        if "status" in fields:
            await self.events.announce(video.video_id, updated.status)
        return updated

    async def set_fields_by_id(self, video_id: int, fields: dict[str, Any]) -> Video | None:
        """set_fields for a video known by id only (the worker, the operator's CLI, seeding);
        None when it no longer exists."""
        video = await self.latest(video_id)
        return None if video is None else await self.set_fields(video, fields)

    async def delete(self, user: User, video_id: int) -> None:
        """Metadata goes at once; the edges' revocation and the blobs go through the queue (and the
        sweeper catches any blobs left)."""
        video = await self.get_owned(user, video_id)
        intents = [Intent(video.channel_id, video_id, kind) for kind in ("sync_edges", "delete_blobs")]
        async with self.db.primary.begin() as conn:
            await repo.delete(conn, video.channel_id, video_id)
            for intent in intents:
                await outbox_repo.add(conn, intent)
        await self.cache.deleted(video_id)
        for intent in intents:
            await self.outbox.publish(intent)

    @retry_cutover
    async def list_channel(
        self, channel_id: int, viewer: User | None, cursor: str | None, limit: int
    ) -> Page[Video]:
        """Owners list every video of their channel from the primary; everyone else gets the ready
        public ones from a replica."""
        before = decode_cursor(cursor)
        channel = await self.channels.get(channel_id)
        is_owner = viewer is not None and viewer.user_id == channel.owner_id

        async def read(conn: AsyncConnection) -> list[Video]:
            return await repo.list_channel(conn, channel_id, before, limit + 1, public_only=not is_owner)

        if is_owner:
            async with self.db.primary.connect() as conn:
                videos = await read(conn)
        else:
            videos = await self.db.read_replica(read)
        return page_of(videos, limit, key=lambda v: v.video_id)
