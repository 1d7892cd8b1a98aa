"""Seed realistic data for load tests through the API: creators with a channel each, videos,
viewers subscribed to channels; then mark the videos ready (no transcoding for load data), which
needs the stack's own environment (the database). Writes the ids and keys the scenarios use.

    python -m loadtest.seed --host http://127.0.0.1:15080 [--creators 20 --videos 25 --viewers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
from pathlib import Path
from typing import Any

import httpx

from api import storage
from api.settings import Settings
from api.wiring import Services
from loadtest.backoff import send
from loadtest.serving import wait_until_ok

SEED_FILE = Path(
    os.environ.get(
        "VIDSTORE_SEED_FILE", Path(__file__).resolve().parent.parent / ".data" / "loadtest" / "seed.json"
    )
)


async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any], key: str | None = None) -> Any:
    """A write the seeder needs: retried while the API sheds it (429/503, after its Retry-After)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await send(client, "POST", url, json=body, headers=headers)
    response.raise_for_status()
    return response.json()


async def _put(client: httpx.AsyncClient, url: str, key: str) -> None:
    response = await send(client, "PUT", url, headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()


async def mark_ready(video_ids: list[int], settings: Settings | None = None) -> None:
    """What the worker does once a video is transcoded (load data skips the transcoding)."""
    async with Services.opened(settings or Settings.from_env()) as services:
        for video_id in video_ids:
            ready = {"status": "ready", "duration_ms": 60_000, "manifest_key": storage.manifest_key(video_id)}
            assert await services.videos.set_fields_by_id(video_id, ready) is not None


async def seed(
    host: str, creators: int, per_channel: int, viewers: int, subscriptions: int
) -> dict[str, Any]:
    rng = random.Random(1)
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=host, limits=limits, timeout=30) as client:
        makers = await asyncio.gather(
            *(_post(client, "/v1/users", {"name": f"creator{i}"}) for i in range(creators))
        )
        channels = await asyncio.gather(
            *(
                _post(client, "/v1/channels", {"title": f"channel {i}"}, m["api_key"])
                for i, m in enumerate(makers)
            )
        )
        video_ids: list[int] = []
        for maker, channel in zip(makers, channels, strict=True):
            made = await asyncio.gather(
                *(
                    _post(
                        client,
                        f"/v1/channels/{channel['channel_id']}/videos",
                        {"title": f"video {n}", "description": "load test", "visibility": "public"},
                        maker["api_key"],
                    )
                    for n in range(per_channel)
                )
            )
            video_ids += [v["video_id"] for v in made]
        audience = await asyncio.gather(
            *(_post(client, "/v1/users", {"name": f"viewer{i}"}) for i in range(viewers))
        )
        channel_ids = [c["channel_id"] for c in channels]
        for viewer in audience:
            picks = rng.sample(channel_ids, min(subscriptions, len(channel_ids)))
            await asyncio.gather(
                *(_put(client, f"/v1/me/subscriptions/{c}", viewer["api_key"]) for c in picks)
            )
    await mark_ready(video_ids)
    # The API's processes keep what they read for a second, here the drafts just created (seeding
    # on an idle machine takes less than that): the scenarios start once the API serves them ready.
    last = f"{host}/v1/videos/{video_ids[-1]}"
    await asyncio.to_thread(wait_until_ok, last, None, "the seeded videos, ready", 10, 200)
    rng.shuffle(video_ids)  # popularity rank: index 0 is the most watched
    return {
        "host": host,
        "videos": video_ids,
        "channels": channel_ids,
        "creators": [
            {"key": m["api_key"], "channel_id": c["channel_id"]}
            for m, c in zip(makers, channels, strict=True)
        ],
        "viewers": [v["api_key"] for v in audience],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.seed")
    parser.add_argument("--host", default="http://127.0.0.1:15080")
    parser.add_argument("--creators", type=int, default=20)
    parser.add_argument("--videos", type=int, default=25, help="per channel")
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--subscriptions", type=int, default=10, help="per viewer")
    parser.add_argument("--out", type=Path, default=SEED_FILE)
    args = parser.parse_args()
    data = asyncio.run(seed(args.host, args.creators, args.videos, args.viewers, args.subscriptions))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data))
    counts = f"{len(data['channels'])} channels, {len(data['videos'])} videos, {len(data['viewers'])} viewers"
    print(f"seeded {counts} -> {args.out}")


if __name__ == "__main__":
    main()
