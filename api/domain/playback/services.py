from __future__ import annotations

import hmac
import time
from typing import Literal

import msgspec

from api import storage
from api.domain.errors import Conflict, NotFound
from api.domain.playback.tokens import Audience, sign_path
from api.domain.users.schemas import User
from api.domain.videos.services import VideoService

__all__ = ["Playability", "PlaybackGrant", "PlaybackRequest", "PlaybackService", "file_under"]

Playable = Literal["public", "private"]


class PlaybackRequest(msgspec.Struct, forbid_unknown_fields=True):
    bind_ip: bool = False  # bind the URL to the caller's IP address


class PlaybackGrant(msgspec.Struct):
    video_id: int
    url: str  # the HLS master playlist
    expires_at: int  # epoch seconds
    thumbnail_url: str | None = None  # the poster image, signed alike (None if the video has none)


class Playability(msgspec.Struct):
    video_id: int
    playable: Playable  # "public": any token plays it; "private": only its owner's tokens


def file_under(video_id: int, key: str | None) -> str | None:
    """A stored key's path under the video's prefix `videos/{id}/` (what a token covers), or None."""
    prefix = storage.video_prefix(video_id)
    return key[len(prefix) :] if key and key.startswith(prefix) else None


class PlaybackService:
    """Signed playback URLs for the edge (`cdn_base_url`), and what the edge asks before serving."""

    def __init__(
        self,
        videos: VideoService,
        keys: dict[str, bytes],
        ttl_seconds: int,
        cdn_base_url: str,
        edge_secret: str,
    ) -> None:
        self.videos, self.keys, self.ttl_seconds = videos, keys, ttl_seconds
        self.cdn_base_url, self._edge_secret = cdn_base_url, edge_secret.encode()

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

    def edge_authenticated(self, secret: str | None) -> bool:
        return secret is not None and hmac.compare_digest(secret.encode(), self._edge_secret)

    async def playability(self, video_id: int) -> Playability:
        """What the edge asks (and caches for a few seconds) before serving a verified token: is the
        video ready, and may strangers' tokens play it? Deleted, unready and unknown videos are 404."""
        video = await self.videos.find(video_id, None)
        if video is None or video.status != "ready":
            raise NotFound(f"video {video_id} not found")
        return Playability(video_id, "private" if video.visibility == "private" else "public")
