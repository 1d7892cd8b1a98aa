"""Live resharding under load, on the real cluster: `make reshard` splits `vidstore` 2 -> 4 and merges it
back 4 -> 2 while a served API takes view POSTs, video creates and reads, and a flusher follows the
shard map. Nothing accepted is lost or doubled, nothing created goes missing, no client sees an error."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pymysql
import pytest

from api.db import cluster_shards
from sharding.layout import ports
from tests.conftest import BACKEND, Api, Caller, report
from tests.live import ROOT, api_server, eventually, put_back, reshard, start_reshard

pytestmark = pytest.mark.skipif(
    BACKEND != "vitess", reason="resharding needs the Vitess cluster: runs in make test's vitess pass"
)

SPLIT = "-40,40-80,80-c0,c0-"
HOT_SPLIT = "-40,40-80,80-"  # the hot shard -80 only
MERGED = "-80,80-"


@dataclass
class Traffic:
    owner: Caller
    channels: list[int]
    viewable: list[int]
    accepted: dict[int, int] = field(default_factory=dict)
    created: dict[int, int] = field(default_factory=dict)  # video_id -> channel_id
    write_acks: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retried_503: int = 0
    requests: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, client: httpx.AsyncClient, method: str, url: str, ok: int, **kw: Any) -> Any:
        """One request; a 503 with Retry-After (the API's documented "retry later") is retried."""
        for _ in range(20):
            self.requests += 1
            response = await client.request(method, url, **kw)
            if response.status_code == ok:
                return response.json()
            if response.status_code == 503 and "Retry-After" in response.headers:
                self.retried_503 += 1
                await asyncio.sleep(0.2)
                continue
            self.errors.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
            return None
        self.errors.append(f"{method} {url}: still 503 after 20 tries")
        return None

    async def viewer(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            video_id = random.choice(self.viewable)
            body = await self.call(client, "POST", f"/v1/videos/{video_id}/views", 202)
            if body is not None and body["counted"]:
                self.accepted[video_id] = self.accepted.get(video_id, 0) + 1
            await asyncio.sleep(0.005)

    async def creator(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            channel_id = random.choice(self.channels)
            body = await self.call(
                client,
                "POST",
                f"/v1/channels/{channel_id}/videos",
                201,
                json={"title": "made during a reshard", "visibility": "public"},
                headers=self.owner.auth,
            )
            if body is not None:
                self.write_acks.append(time.monotonic())
                self.created[int(body["video_id"])] = channel_id
            await asyncio.sleep(0.02)

    async def reader(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            if self.created:
                video_id = random.choice(list(self.created))
                await self.call(client, "GET", f"/v1/videos/{video_id}", 200, headers=self.owner.auth)
            await asyncio.sleep(0.01)

    def longest_write_pause(self) -> float:
        acks = sorted(self.write_acks)
        return max((b - a for a, b in itertools.pairwise(acks)), default=0.0)


def vtgate_rows(api: Api, statement: str) -> list[tuple[Any, ...]]:
    url = api.services.db.primary.url
    with (
        pymysql.connect(host=url.host, port=url.port, user=url.username, password=url.password) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(statement)
        return list(cur.fetchall())


def still_listening(uids: list[int]) -> list[int]:
    """The uids among these whose vttablet, gRPC or MariaDB port still accepts connections."""
    alive = []
    for uid in uids:
        for port in ports(uid):
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    alive.append(uid)
    return alive


async def nothing_lost(api: Api, traffic: Traffic) -> None:
    """No client error; after a final flush every counted view is in the database exactly once, and
    every video created under the traffic reads back by id."""
    assert traffic.errors == [], traffic.errors[:10]
    flusher = api.flusher()
    while (await flusher.flush_once()).batches_done:
        pass
    for video_id, accepted in traffic.accepted.items():
        counts = await api.views(video_id)
        assert (counts["flushed"], counts["buffered"]) == (accepted, 0), (video_id, counts, accepted)
    for video_id in traffic.created:
        got = await api.client.get(f"/v1/videos/{video_id}", headers=traffic.owner.auth)
        assert got.status_code == 200, (video_id, got.text)


async def test_split_and_merge_under_load_lose_nothing(api: Api) -> None:
    layout = await cluster_shards(api.services.db.primary)
    assert layout == MERGED.split(","), (
        f"starts from -80,80- (make reshard KEYSPACE=vidstore TO={MERGED}): {layout}"
    )
    owner = await api.user("resharder")
    channels = [await api.channel(owner) for _ in range(8)]
    viewable = [await api.video(owner, c, settle=False) for c in channels for _ in range(2)]
    await api.settled()
    traffic = Traffic(owner, channels, viewable)
    flusher = api.flusher()  # the cluster's shard map, read on every pass
    flush_failures = 0

    async def flush_loop() -> None:
        nonlocal flush_failures
        while not traffic.stop.is_set():
            try:
                flush_failures += (await flusher.flush_once()).failed
            except Exception:  # a pass that could not even read the map: the next one retries
                flush_failures += 1
            await asyncio.sleep(0.3)

    env = {"VIDSTORE_MAX_IN_FLIGHT": "1000", "VIDSTORE_VIEW_DEDUPE_SECONDS": "0"}
    with api_server(env) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            tasks = [asyncio.create_task(t) for t in (flush_loop(), traffic.reader(client))]
            tasks += [asyncio.create_task(traffic.viewer(client)) for _ in range(2)]
            tasks += [asyncio.create_task(traffic.creator(client)) for _ in range(2)]
            try:
                split_seconds, split_log = await reshard(SPLIT)
                split_shards = await cluster_shards(api.services.db.primary)
                split_report = json.loads((ROOT / ".data/reports/reshard-vidstore-last.json").read_text())
                merge_seconds, _ = await reshard(MERGED)
            except BaseException:
                split = await cluster_shards(api.services.db.primary) == SPLIT.split(",")
                await (put_back(MERGED) if split else put_back(SPLIT, "--abort"))
                raise
            finally:
                traffic.stop.set()
                await asyncio.gather(*tasks)

    assert split_shards == SPLIT.split(","), split_log[-3000:]
    await nothing_lost(api, traffic)
    listed: dict[int, set[int]] = {}
    for channel_id in channels:
        listed[channel_id], cursor = set(), None
        while True:
            params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
            page = await api.client.get(
                f"/v1/channels/{channel_id}/videos", params=params, headers=owner.auth
            )
            assert page.status_code == 200, page.text
            listed[channel_id] |= {int(v["video_id"]) for v in page.json()["items"]}
            if not (cursor := page.json()["next_cursor"]):
                break
    missing = [v for v, c in traffic.created.items() if v not in listed[c]]
    assert missing == [], missing

    last = json.loads((ROOT / ".data/reports/reshard-vidstore-last.json").read_text())
    for run in (split_report, last):
        assert run["vdiff"]["State"] == "completed" and not run["vdiff"]["HasMismatch"], run
        # The command's own probe client, aimed into every new range, went through the switch.
        assert run["cutover"]["errors"] == 0 and run["cutover"]["queries_answered"] > 0, run["cutover"]
    assert still_listening([110, 111, 120, 121, 130, 131, 140, 141]) == []  # the split's shards, retired
    assert await cluster_shards(api.services.db.primary) == MERGED.split(",")
    assert {r[0] for r in vtgate_rows(api, "SHOW VITESS_SHARDS")} >= {"vidstore/-80", "vidstore/80-"}
    pause = traffic.longest_write_pause()
    report(
        f"reshard 2->4 in {split_seconds:.1f} s (copy {split_report['seconds'].get('copy')} s, "
        f"VDiff {split_report['seconds'].get('vdiff')} s, write switch "
        f"{split_report['seconds'].get('writes')} s, "
        f"probe pause {split_report['cutover']['longest_pause_s']} s), "
        f"merge 4->2 in {merge_seconds:.1f} s (probe pause {last['cutover']['longest_pause_s']} s), "
        f"under {traffic.requests} requests: {len(traffic.created)} videos created, "
        f"{sum(traffic.accepted.values())} views accepted, client errors 0, 503-retried "
        f"{traffic.retried_503}, flush passes failed {flush_failures}, longest write pause {pause:.2f} s"
    )
    proof = {
        "split": split_report,
        "merge": last,
        "client_errors": len(traffic.errors),
        "client_503_retried": traffic.retried_503,
        "longest_write_pause_s": round(pause, 2),
        "videos_created": len(traffic.created),
        "views_counted": sum(traffic.accepted.values()),
        "requests": traffic.requests,
    }
    (ROOT / ".data/reports/reshard-proof.json").write_text(json.dumps(proof, indent=2) + "\n")
    # Issue #12's target. With the catch-up poll patch (stack/vitess/patches/) it measures 0.5-0.8 s;
    # unpatched v0.24.3 quantised it to ~1.2 or ~2.2 s and passed this only some of the time.
    assert pause <= 2.5, f"writes stopped for {pause:.2f} s (target 2.5 s)"


def vidstore_shards(api: Api) -> set[str]:
    return {str(r[0]) for r in vtgate_rows(api, "SHOW VITESS_SHARDS") if str(r[0]).startswith("vidstore/")}


async def test_a_hot_shard_split_resumes_after_a_kill_and_aborts_cleanly(api: Api) -> None:
    """Split only -80, SIGKILL the command as it starts copying, run it again up to switched reads
    (it carries on from Vitess's state, doing nothing twice), then --abort: reads go back, the new
    shards and their tablets go away, and traffic never saw an error."""
    assert await cluster_shards(api.services.db.primary) == MERGED.split(",")
    owner = await api.user("hot-splitter")
    channels = [await api.channel(owner) for _ in range(4)]
    viewable = [await api.video(owner, c, settle=False) for c in channels]
    await api.settled()
    traffic = Traffic(owner, channels, viewable)
    env = {"VIDSTORE_MAX_IN_FLIGHT": "1000", "VIDSTORE_VIEW_DEDUPE_SECONDS": "0"}
    with api_server(env) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            tasks = [asyncio.create_task(traffic.viewer(client)), asyncio.create_task(traffic.reader(client))]
            tasks.append(asyncio.create_task(traffic.creator(client)))
            try:
                first = await start_reshard(HOT_SPLIT)
                assert first.stdout is not None
                printed = []
                async for line in first.stdout:  # killed the moment it reports the copy step
                    printed.append(line.decode())
                    if "[3/8] copy" in printed[-1]:
                        os.killpg(first.pid, signal.SIGKILL)
                        break
                await first.wait()
                assert first.returncode == -signal.SIGKILL, "".join(printed)[-3000:]
                resume_seconds, resumed = await reshard(HOT_SPLIT, "--until=reads")
                assert "[1/8] provision: done already" in resumed, resumed[-3000:]
                assert "[2/8] create: done already" in resumed, resumed[-3000:]
                # Replica reads now go to the new shards (primaries stay on the old ones until writes).
                assert "Current State: All Reads Switched. Writes Not Switched" in resumed, resumed[-3000:]
                abort_seconds, aborted = await reshard(HOT_SPLIT, "--abort")
            except BaseException:
                await put_back(HOT_SPLIT, "--abort")
                raise
            finally:
                traffic.stop.set()
                await asyncio.gather(*tasks)
    await nothing_lost(api, traffic)

    async def only_the_old_shards() -> bool:  # vtgate's topology cache drops the deleted shards
        return vidstore_shards(api) == {"vidstore/-80", "vidstore/80-"}

    await eventually(only_the_old_shards, 30, f"vtgate to list only -80,80-; {aborted[-2000:]}")
    assert await cluster_shards(api.services.db.primary) == MERGED.split(",")
    assert still_listening([110, 111, 120, 121]) == []  # the new shards' tablets and MariaDB
    report(
        f"hot-shard split -80 -> -40,40-80: killed at the copy, resumed to switched reads in "
        f"{resume_seconds:.1f} s, aborted in {abort_seconds:.1f} s, under {traffic.requests} requests: "
        f"{sum(traffic.accepted.values())} views and {len(traffic.created)} videos kept, client errors 0"
    )
