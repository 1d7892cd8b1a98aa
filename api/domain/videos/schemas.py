from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from api.domain.channels.schemas import Description, Title

Status = Literal["draft", "processing", "ready", "failed"]
Visibility = Literal["public", "unlisted", "private"]


class VideoCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    description: Description = ""
    visibility: Visibility = "private"


class VideoUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    visibility: Visibility | msgspec.UnsetType = msgspec.UNSET


class Video(msgspec.Struct):
    video_id: int
    channel_id: int
    owner_id: int
    title: str
    description: str
    status: Status
    visibility: Visibility
    duration_ms: int | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    # Object-storage keys: the upload the worker transcodes, then the files it made.
    manifest_key: str | None = msgspec.field(default=None)
    source_key: str | None = msgspec.field(default=None)
    thumbnail_key: str | None = msgspec.field(default=None)

    def visible_to(self, viewer_id: int | None) -> bool:
        """Owners see everything; others see ready videos that are not private."""
        if viewer_id == self.owner_id:
            return True
        return self.status == "ready" and self.visibility != "private"


class VideoOut(msgspec.Struct):
    video_id: int
    channel_id: int
    title: str
    description: str
    status: Status
    visibility: Visibility
    duration_ms: int | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, video: Video) -> VideoOut:
        return cls(**{f: getattr(video, f) for f in cls.__struct_fields__})
