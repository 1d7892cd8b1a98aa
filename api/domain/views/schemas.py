from __future__ import annotations

import msgspec


class ViewAccepted(msgspec.Struct):
    video_id: int
    accepted: bool = True
    counted: bool = True  # False: this viewer's repeat within the dedupe window


class ViewCount(msgspec.Struct):
    video_id: int
    views: int  # flushed + buffered
    flushed: int  # in the database
    buffered: int | None  # counted, still in Redis (None: Redis unreachable)
    unique_viewers_today: int | None = None  # HyperLogLog estimate, UTC day (~0.8% error)
    complete: bool = True  # False when Redis could not be read
