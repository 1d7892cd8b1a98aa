"""The CDN's edges as the API reaches them: it pushes each video's revocation to every edge
(`PUT {edge}/_edge/videos/{id}/revocation`, authenticated by the edge's secret), so the edges refuse
what may no longer play without ever asking the API on the way of a file (stack/edge/edge.js).

A revocation is a video's whole state, not a change, so pushing it twice, late, or after a newer one
has been read is harmless: the worker's job reads the video again and pushes what it finds.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import httpx

__all__ = ["CdnEdges", "EdgeUnreachable", "Revocation"]

# "all": every token refused (the video is gone); "pub": strangers' tokens refused (private);
# "none": nothing refused (public or unlisted again).
Revocation = Literal["all", "pub", "none"]


class EdgeUnreachable(Exception):
    """One or more edges did not take a revocation; the job that pushed it is retried."""


class CdnEdges:
    def __init__(self, urls: tuple[str, ...], secret: str, timeout_seconds: float = 2.0) -> None:
        self.urls, self._secret, self._timeout = urls, secret, timeout_seconds

    async def revoke(self, video_id: int, revocation: Revocation) -> None:
        """Every edge holds `revocation` for the video, or EdgeUnreachable names those that do not."""
        headers = {"X-Edge-Secret": self._secret}
        async with httpx.AsyncClient(timeout=self._timeout, headers=headers) as client:
            answers = await asyncio.gather(
                *(
                    client.put(f"{url}/_edge/videos/{video_id}/revocation", content=revocation)
                    for url in self.urls
                ),
                return_exceptions=True,
            )
        failed = [
            f"{url}: {answer!r}" if isinstance(answer, BaseException) else f"{url}: {answer.status_code}"
            for url, answer in zip(self.urls, answers, strict=True)
            if isinstance(answer, BaseException) or answer.status_code != 204
        ]
        if failed:
            taken = f"revocation {revocation!r} of video {video_id} not taken by "
            raise EdgeUnreachable(taken + ", ".join(failed))
