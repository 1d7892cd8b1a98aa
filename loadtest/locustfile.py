"""vidstore traffic for locust: viewers (watch pages, channel pages, home feed, Zipf-skewed video
popularity) and creators (new videos, metadata edits), under one of three shapes.

    VIDSTORE_SHAPE=steady|ramp|spike  VIDSTORE_LOAD_USERS=20  VIDSTORE_LOAD_SECONDS=60
    locust -f loadtest/locustfile.py --headless --host http://127.0.0.1:15080

Needs `python -m loadtest.seed` first (make loadtest does both). At the end it writes a summary
(phase by phase: admitted requests' p50/p99, shed 429/503, other errors) next to locust's reports.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import gevent
from locust import LoadTestShape, between, events, task
from locust.contrib.fasthttp import FastHttpUser

from loadtest.backoff import delay
from loadtest.seed import SEED_FILE

SEED: dict[str, Any] = json.loads(SEED_FILE.read_text()) if SEED_FILE.exists() else {}
VIDEOS: list[int] = SEED.get("videos", [])
# Zipf popularity: the video at rank r is watched in proportion to 1/(r+1)^1.1.
_weights = [1 / (rank + 1) ** 1.1 for rank in range(len(VIDEOS))]
CUMULATIVE = [sum(_weights[: i + 1]) for i in range(len(_weights))]

SHAPE = os.environ.get("VIDSTORE_SHAPE", "steady")
USERS = int(os.environ.get("VIDSTORE_LOAD_USERS", "20"))
SECONDS = int(os.environ.get("VIDSTORE_LOAD_SECONDS", "60"))
SUMMARY = Path(os.environ.get("VIDSTORE_LOAD_SUMMARY", str(SEED_FILE.parent / f"{SHAPE}-summary.json")))


def popular_video() -> int:
    return VIDEOS[bisect.bisect_left(CUMULATIVE, random.random() * CUMULATIVE[-1])]


class Polite(FastHttpUser):
    """A client that honours shedding: after a 429/503 it waits what the server asked (Retry-After,
    capped; backoff growing with consecutive sheds) and abandons the rest of that page. The shed
    request still counts (the phase summary reports it)."""

    abstract = True
    shed_streak = 0

    def call(self, method: str, path: str, name: str, **kwargs: Any) -> Any | None:
        """The response, or None when it was shed (after waiting as asked)."""
        response = self.client.request(method, path, name=name, **kwargs)
        # geventhttpclient's Headers holds str values (a list only for a repeated field)
        wait = delay(
            response.status_code or 0, cast("Mapping[str, str]", response.headers or {}), self.shed_streak + 1
        )
        if wait is None:
            self.shed_streak = 0
            return response
        self.shed_streak = min(self.shed_streak + 1, 5)
        gevent.sleep(wait)
        return None


class Viewer(Polite):
    weight = 19
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {random.choice(SEED['viewers'])}"}

    @task(6)
    def watch(self) -> None:
        video_id = popular_video()
        if self.call("GET", f"/v1/videos/{video_id}", "/v1/videos/[id]", headers=self.auth) is None:
            return
        if (
            self.call(
                "POST", f"/v1/videos/{video_id}/playback", "/v1/videos/[id]/playback", headers=self.auth
            )
            is None
        ):
            return
        self.call("POST", f"/v1/videos/{video_id}/views", "/v1/videos/[id]/views", headers=self.auth)

    @task(2)
    def channel_page(self) -> None:
        channel_id = random.choice(SEED["channels"])
        if self.call("GET", f"/v1/channels/{channel_id}", "/v1/channels/[id]", headers=self.auth) is None:
            return
        self.call(
            "GET", f"/v1/channels/{channel_id}/videos?limit=20", "/v1/channels/[id]/videos", headers=self.auth
        )

    @task(3)
    def scroll_feed(self) -> None:
        cursor = ""
        for _ in range(random.randint(1, 3)):
            page = self.call("GET", f"/v1/me/feed?limit=20{cursor}", "/v1/me/feed", headers=self.auth)
            if page is None or page.status_code != 200:
                return
            following = (page.json() or {}).get("next_cursor")
            if not following:
                return
            cursor = f"&cursor={following}"

    @task(1)
    def count(self) -> None:
        self.call(
            "GET", f"/v1/videos/{popular_video()}/views", "/v1/videos/[id]/views count", headers=self.auth
        )


class Creator(Polite):
    weight = 1
    wait_time = between(2, 5)
    mine: list[int]  # the ids of the videos this user created

    def on_start(self) -> None:
        me = random.choice(SEED["creators"])
        self.auth, self.channel_id, self.mine = {"Authorization": f"Bearer {me['key']}"}, me["channel_id"], []

    @task(2)
    def upload_metadata(self) -> None:
        body = {"title": f"new {time.time():.0f}", "visibility": "public"}
        made = self.call(
            "POST",
            f"/v1/channels/{self.channel_id}/videos",
            "/v1/channels/[id]/videos create",
            json=body,
            headers=self.auth,
        )
        if made is not None and made.status_code == 201:
            self.mine.append(made.json()["video_id"])

    @task(1)
    def edit(self) -> None:
        if self.mine:
            body = {"description": f"edited {time.time():.0f}"}
            self.call(
                "PATCH",
                f"/v1/videos/{random.choice(self.mine)}",
                "/v1/videos/[id] edit",
                json=body,
                headers=self.auth,
            )


def phase_at(elapsed: float) -> str:
    if SHAPE == "spike":
        return "steady" if elapsed < SECONDS / 3 else ("spike" if elapsed < 2 * SECONDS / 3 else "after")
    return SHAPE


class Shape(LoadTestShape):
    """steady: USERS throughout; ramp: 0 -> 2xUSERS; spike: USERS, then 10xUSERS for the middle third."""

    def tick(self) -> tuple[int, float] | None:
        elapsed: float = self.get_run_time()  # type: ignore[no-untyped-call]  # unannotated in locust
        if elapsed >= SECONDS:
            return None
        if SHAPE == "ramp":
            return max(1, round(2 * USERS * elapsed / SECONDS)), 50
        users = 10 * USERS if phase_at(elapsed) == "spike" else USERS
        return users, 1000


# Per phase: admitted requests' latencies, shed (429/503) and other errors.
STARTED = time.monotonic()
RECORDS: dict[str, dict[str, Any]] = {}


@events.request.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is unannotated
def _record(response_time: float, response: Any = None, exception: Any = None, **_: Any) -> None:
    bucket = RECORDS.setdefault(
        phase_at(time.monotonic() - STARTED), {"admitted_ms": [], "shed": 0, "errors": 0}
    )
    status = getattr(response, "status_code", 0) or 0
    if status in (429, 503):
        bucket["shed"] += 1
    elif exception is None and 0 < status < 400:
        bucket["admitted_ms"].append(response_time)
    else:
        bucket["errors"] += 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@events.test_stop.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is unannotated
def _summary(**_: Any) -> None:
    phases = {
        phase: {
            "admitted": len(b["admitted_ms"]),
            "p50_ms": round(_percentile(b["admitted_ms"], 0.50), 1),
            "p99_ms": round(_percentile(b["admitted_ms"], 0.99), 1),
            "shed_429_503": b["shed"],
            "other_errors": b["errors"],
        }
        for phase, b in RECORDS.items()
    }
    summary: dict[str, Any] = {"shape": SHAPE, "users": USERS, "seconds": SECONDS, "phases": phases}
    if "spike" in phases and phases.get("steady", {}).get("p99_ms"):
        summary["spike_p99_over_steady_p99"] = round(
            phases["spike"]["p99_ms"] / phases["steady"]["p99_ms"], 2
        )
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
