"""Finds blobs whose video no longer exists (a lost delete job, a crash between the metadata delete
and the enqueue) and removes them. Only objects older than a grace period are candidates, so an
upload racing its video's creation is never swept."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from api import storage
from api.domain.videos.services import VideoService
from api.storage import ObjectStore


def _video_ids_with_age(store: ObjectStore) -> dict[int, float]:
    """video id -> age in seconds of its newest object, over uploads/ and videos/."""
    newest: dict[int, float] = defaultdict(float)
    paginator = store.client.get_paginator("list_objects_v2")
    for prefix in (storage.UPLOADS, storage.VIDEOS):
        for page in paginator.paginate(Bucket=store.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                part = str(item["Key"]).split("/")[1]
                if part.isdigit():
                    newest[int(part)] = max(newest[int(part)], item["LastModified"].timestamp())
    now = time.time()
    return {video_id: now - stamp for video_id, stamp in newest.items()}


async def sweep(videos: VideoService, store: ObjectStore, grace_seconds: float) -> list[int]:
    """Delete the blobs of videos that do not exist; returns their ids."""
    ages = await asyncio.to_thread(_video_ids_with_age, store)
    orphans = []
    for video_id, age in sorted(ages.items()):
        if age < grace_seconds:
            continue
        if await videos.latest(video_id) is not None:
            continue
        for prefix in storage.prefixes(video_id):
            await asyncio.to_thread(store.delete_prefix, prefix)
        orphans.append(video_id)
    return orphans
