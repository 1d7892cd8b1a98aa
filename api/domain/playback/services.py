from __future__ import annotations

import time

import msgspec
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException

from api.domain.playback.tokens import Verdict, sign_path, verify_path
from api.domain.users.schemas import User
from api.domain.videos import services as videos
from api.state import AppState


class PlaybackRequest(msgspec.Struct, forbid_unknown_fields=True):
    bind_ip: bool = False  # bind the URL to the caller's IP address


class PlaybackGrant(msgspec.Struct):
    video_id: int
    url: str
    expires_at: int  # epoch seconds


def manifest_file(video_id: int, manifest_key: str | None) -> str:
    """The manifest's path under the video's prefix `videos/{id}/` in the bucket."""
    prefix = f"videos/{video_id}/"
    if manifest_key and manifest_key.startswith(prefix):
        return manifest_key[len(prefix) :]
    return "hls/master.m3u8"


async def grant(
    state: AppState, video_id: int, viewer: User | None, client_ip: str | None, now: float | None = None
) -> PlaybackGrant:
    video = await videos.find(state, video_id, viewer)
    if video is None:
        raise NotFoundException(detail=f"video {video_id} not found")
    if video.visibility == "private" and (viewer is None or viewer.user_id != video.owner_id):
        raise PermissionDeniedException(detail=f"video {video_id} is private")
    if video.status != "ready":
        raise ClientException(status_code=409, detail=f"video {video_id} is {video.status}, not ready")
    expires = int(now if now is not None else time.time()) + state.settings.playback_ttl_seconds
    path = sign_path(
        state.settings.playback_signing_key,
        video_id,
        manifest_file(video_id, video.manifest_key),
        expires,
        client_ip,
    )
    return PlaybackGrant(video_id=video_id, url=state.settings.cdn_base_url + path, expires_at=expires)


def verify(state: AppState, path: str, client_ip: str, now: float | None = None) -> Verdict:
    return verify_path(
        state.settings.playback_signing_key, path, client_ip, time.time() if now is None else now
    )
