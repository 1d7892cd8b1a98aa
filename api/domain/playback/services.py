from __future__ import annotations

import hmac
import time
from typing import Literal

import msgspec

from api import storage
from api.domain.errors import Conflict, NotFound
from api.domain.playback.tokens import sign_path
from api.domain.users.schemas import User
from api.domain.videos import services as videos
from api.state import AppState

Playable = Literal["public", "private"]


class PlaybackRequest(msgspec.Struct, forbid_unknown_fields=True):
    bind_ip: bool = False  # bind the URL to the caller's IP address


class PlaybackGrant(msgspec.Struct):
    video_id: int
    url: str
    expires_at: int  # epoch seconds


class Playability(msgspec.Struct):
    video_id: int
    playable: Playable  # "public": any token plays it; "private": only its owner's tokens


def manifest_file(video_id: int, manifest_key: str | None) -> str:
    """The manifest's path under the video's prefix `videos/{id}/` in the bucket."""
    prefix = storage.video_prefix(video_id)
    if manifest_key and manifest_key.startswith(prefix):
        return manifest_key[len(prefix) :]
    return "hls/master.m3u8"


async def grant(
    state: AppState, video_id: int, viewer: User | None, client_ip: str | None, now: float | None = None
) -> PlaybackGrant:
    """A signed URL for a video the caller may see (others get the 404 GET /v1/videos/{id} gives);
    409 while its owner's video is not ready. The owner's tokens keep playing it while private."""
    video = await videos.get_visible(state, video_id, viewer)
    if video.status != "ready":
        raise Conflict(f"video {video_id} is {video.status}, not ready")
    expires = int(now if now is not None else time.time()) + state.settings.playback_ttl_seconds
    owner = viewer is not None and viewer.user_id == video.owner_id
    path = sign_path(
        state.settings.playback_keys,
        video_id,
        manifest_file(video_id, video.manifest_key),
        expires,
        client_ip,
        audience="own" if owner else "pub",
    )
    return PlaybackGrant(video_id=video_id, url=state.settings.cdn_base_url + path, expires_at=expires)


def edge_authenticated(state: AppState, secret: str | None) -> bool:
    return secret is not None and hmac.compare_digest(secret.encode(), state.settings.edge_secret.encode())


async def playability(state: AppState, video_id: int) -> Playability:
    """What the edge asks (and caches for a few seconds) before serving a verified token: is the video
    ready, and may strangers' tokens play it? Deleted, unready and unknown videos are 404."""
    video = await videos.find(state, video_id, None)
    if video is None or video.status != "ready":
        raise NotFound(f"video {video_id} not found")
    return Playability(video_id, "private" if video.visibility == "private" else "public")
