"""Direct uploads: the owner gets presigned URLs for a draft video and sends the bytes straight to
object storage; "complete" checks the object is there as declared, moves the video to
`processing` and queues the transcode. The declared upload is remembered in Redis until complete."""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from api import storage
from api.domain.errors import Conflict, InvalidInput
from api.domain.uploads.schemas import UploadComplete, UploadGrant, UploadPart, UploadRequest
from api.domain.users.schemas import User
from api.domain.videos.schemas import Video
from api.domain.videos.services import VideoService
from api.storage import ObjectStore

__all__ = ["UploadLimits", "UploadService"]


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int  # the largest upload accepted
    part_bytes: int  # larger uploads are multipart, in parts of this size
    url_ttl_seconds: int  # how long a presigned URL works


class UploadService:
    def __init__(
        self,
        videos: VideoService,
        store: ObjectStore,
        redis: aioredis.Redis,
        prefix: str,
        limits: UploadLimits,
    ) -> None:
        self.videos, self.store, self.redis, self.prefix, self.limits = videos, store, redis, prefix, limits

    def _pending_key(self, video_id: int) -> str:
        return f"{self.prefix}:upload:{video_id}"

    async def start(self, user: User, video_id: int, request: UploadRequest) -> UploadGrant:
        limits = self.limits
        if request.size_bytes > limits.max_bytes:
            raise InvalidInput("size_bytes", f"larger than the {limits.max_bytes} byte limit")
        video = await self.videos.get_owned(user, video_id)
        if video.status not in ("draft", "failed"):
            raise Conflict(
                f"video {video_id} is {video.status}: only a draft (or failed) video takes an upload"
            )
        key, ttl, store = storage.source_key(video_id), limits.url_ttl_seconds, self.store
        expires_at = int(time.time()) + ttl
        headers: dict[str, str] = {"Content-Type": request.content_type}
        pending: dict[str, object] = {
            "content_type": request.content_type,
            "size": request.size_bytes,
            "upload_id": None,
        }
        if request.size_bytes <= limits.part_bytes:
            grant = UploadGrant(
                video_id=video_id,
                method="PUT",
                headers=headers,
                expires_at=expires_at,
                url=store.presign_put(key, request.content_type, request.size_bytes, ttl),
            )
        else:
            upload_id = await asyncio.to_thread(store.create_multipart, key, request.content_type)
            part = limits.part_bytes
            parts = []
            for number in range(1, math.ceil(request.size_bytes / part) + 1):
                size = min(part, request.size_bytes - (number - 1) * part)
                parts.append(UploadPart(number, size, store.presign_part(key, upload_id, number, size, ttl)))
            pending["upload_id"] = upload_id
            grant = UploadGrant(
                video_id=video_id,
                method="PUT",
                headers={},
                expires_at=expires_at,
                upload_id=upload_id,
                parts=parts,
            )
        await self.redis.set(self._pending_key(video_id), json.dumps(pending), ex=ttl + 600)
        return grant

    async def complete(self, user: User, video_id: int, done: UploadComplete) -> Video:
        video = await self.videos.get_owned(user, video_id)
        raw = await self.redis.get(self._pending_key(video_id))
        if video.status not in ("draft", "failed") or raw is None:
            raise Conflict(f"video {video_id} has no upload in progress")
        pending = json.loads(raw)
        key = storage.source_key(video_id)
        if pending["upload_id"]:
            if not done.parts:
                raise InvalidInput("parts", "a multipart upload needs its parts' numbers and ETags")
            parts = sorted((p.part_number, p.etag) for p in done.parts)
            try:
                await asyncio.to_thread(self.store.complete_multipart, key, pending["upload_id"], parts)
            except Exception as exc:
                raise Conflict(f"the storage refused to assemble the parts: {exc}") from exc
        found = await asyncio.to_thread(self.store.head, key)
        if found is None:
            raise Conflict(f"nothing was uploaded for video {video_id}")
        if found.size != pending["size"]:
            raise Conflict(f"uploaded {found.size} bytes, declared {pending['size']}")
        # The transcode job is written to the outbox in the status change's transaction: no crash or
        # Redis error between the two can leave the video `processing` with nothing queued.
        updated = await self.videos.set_fields(
            video, {"status": "processing", "source_key": key, "failure_reason": None}, job="transcode"
        )
        await self.redis.delete(self._pending_key(video_id))
        return updated
