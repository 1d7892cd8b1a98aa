from __future__ import annotations

import time

import msgspec

from api import storage
from api.cdn import CdnEdges, Revocation
from api.domain.errors import Conflict
from api.domain.playback.tokens import Audience, sign_path
from api.domain.users.schemas import User
from api.domain.videos.schemas import Video
from api.domain.videos.services import VideoService

__all__ = ["PlaybackGrant", "PlaybackRequest", "PlaybackService", "file_under", "revocation"]


class PlaybackRequest(msgspec.Struct, forbid_unknown_fields=True):
    bind_ip: bool = False  # bind the URL to the caller's IP address


class PlaybackGrant(msgspec.Struct):
    video_id: int
    url: str  # the HLS master playlist
    expires_at: int  # epoch seconds
    thumbnail_url: str | None = None  # the poster image, signed alike (None if the video has none)


def revocation(video: Video | None) -> Revocation:
    """What the edges refuse of a video, from its current state: every token once it is gone,
    strangers' tokens while it is private (its owner's keep playing), nothing otherwise. Tokens are
    signed for ready videos only, so a draft needs nothing refused, and a refusal of "all" is never
    lifted: ids are not reused."""
    if video is None:
        return "all"
    return "pub" if video.visibility == "private" else "none"


def file_under(video_id: int, key: str | None) -> str | None:
    """A stored key's path under the video's prefix `videos/{id}/` (what a token covers), or None."""
    prefix = storage.video_prefix(video_id)
    return key[len(prefix) :] if key and key.startswith(prefix) else None


class PlaybackService:
    """Signed playback URLs for the edge (`cdn_base_url`), and the revocations pushed to the edges."""

    def __init__(
        self,
        videos: VideoService,
        keys: dict[str, bytes],
        ttl_seconds: int,
        cdn_base_url: str,
        edges: CdnEdges,
    ) -> None:
        self.videos, self.keys, self.ttl_seconds = videos, keys, ttl_seconds
        self.cdn_base_url, self.edges = cdn_base_url, edges

    async def grant(
        self, video_id: int, viewer: User | None, client_ip: str | None, now: float | None = None
    ) -> PlaybackGrant:
        """A signed URL for a video the caller may see (others get the 404 GET /v1/videos/{id}
        gives); 409 while its owner's video is not ready. The owner's tokens keep playing it while
        private."""
        video = await self.videos.get_visible(video_id, viewer)
        if video.status != "ready":
            raise Conflict(f"video {video_id} is {video.status}, not ready")
        expires = int(now if now is not None else time.time()) + self.ttl_seconds
        owner = viewer is not None and viewer.user_id == video.owner_id

        def url(file: str) -> str:
            audience: Audience = "own" if owner else "pub"
            return self.cdn_base_url + sign_path(self.keys, video_id, file, expires, client_ip, audience)

        thumbnail = file_under(video_id, video.thumbnail_key)
        return PlaybackGrant(
            video_id=video_id,
            url=url(file_under(video_id, video.manifest_key) or "hls/master.m3u8"),
            expires_at=expires,
            thumbnail_url=url(thumbnail) if thumbnail else None,
        )

    async def sync_edges(self, video_id: int) -> Revocation:
        """Push the video's revocation, read from the primary now, to every edge (the worker's
        `sync_edges` job, made by a visibility change or a deletion; retried until every edge has
        taken it). Returns what was pushed."""
        pushed = revocation(await self.videos.latest(video_id))
        await self.edges.revoke(video_id, pushed)
        return pushed
