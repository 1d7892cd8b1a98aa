from __future__ import annotations

import msgspec


class ViewAccepted(msgspec.Struct):
    video_id: int
    accepted: bool = True


class ViewCount(msgspec.Struct):
    video_id: int
    views: int  # flushed + buffered
    flushed: int  # in the database
    buffered: int  # accepted, still in Redis
