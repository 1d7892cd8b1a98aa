from __future__ import annotations

from typing import Annotated, Literal

import msgspec

ContentType = Literal["video/mp4", "video/quicktime", "video/webm", "video/x-matroska"]


class UploadRequest(msgspec.Struct, forbid_unknown_fields=True):
    content_type: ContentType
    size_bytes: Annotated[int, msgspec.Meta(ge=1)]


class UploadPart(msgspec.Struct):
    part_number: int
    size_bytes: int
    url: str  # PUT the part's bytes here; keep the ETag header of the answer


class UploadGrant(msgspec.Struct):
    video_id: int
    method: Literal["PUT"]
    headers: dict[str, str]  # send these with every PUT
    expires_at: int
    url: str | None = None  # single upload: PUT the whole file here
    upload_id: str | None = None  # multipart upload: PUT each part to its URL, then complete
    parts: list[UploadPart] | None = None


class CompletedPart(msgspec.Struct, forbid_unknown_fields=True):
    part_number: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    etag: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class UploadComplete(msgspec.Struct, forbid_unknown_fields=True):
    parts: list[CompletedPart] | None = None  # multipart uploads only
