"""What only the Vitess cluster can show: routing decided by vtgate itself, the vindex computed by
Vitess against ours, the shard map read from the cluster, and replicas that really lag."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from api.db import cluster_shards
from sharding import keyspace_id, shard_for, validate_shards
from tests.conftest import BACKEND, Api, replicas_caught_up
from tests.live import eventually, start_tablet, stop_tablet

pytestmark = pytest.mark.skipif(
    BACKEND != "vitess", reason="needs the Vitess cluster: runs in make test's vitess pass"
)


@contextmanager
def captured(*engines: AsyncEngine) -> Iterator[list[str]]:
    """Every statement the app sends while inside, with its parameters rendered as SQL literals."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        driver = conn.connection.dbapi_connection._connection  # aiomysql: escapes like the server
        params = parameters if isinstance(parameters, (tuple, list)) else ()
        statements.append(statement % tuple(driver.escape(p) for p in params) if params else statement)

    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)


def vtgate(api: Api) -> pymysql.Connection[Any]:
    """A plain autocommit session on vtgate (outside a transaction a scatter is allowed to run)."""
    url = api.services.db.primary.url
    return pymysql.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
        autocommit=True,
    )


async def vexplain(api: Api, kind: str, statement: str) -> list[Any]:
    with vtgate(api) as conn, conn.cursor() as cur:
        cur.execute(f"VEXPLAIN {kind} {statement}")
        return list(cur.fetchall())


async def shards_touched(api: Api, select: str) -> set[str]:
    """The `vidstore` shards vtgate sends a SELECT to (VEXPLAIN QUERIES runs it and lists them)."""
    rows = await vexplain(api, "QUERIES", select)
    return {row[2] for row in rows if row[1] == "vidstore"}


async def test_hot_path_queries_are_single_shard(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    channels = [await api.channel(alice) for _ in range(4)]
    videos = [await api.video(alice, c) for c in channels]
    for channel_id in channels:
        await api.client.put(f"/v1/me/subscriptions/{channel_id}", headers=bob.auth)
    await api.settled()

    db = api.services.db
    with captured(db.primary, db.replica) as statements:
        video_id, channel_id = videos[0], channels[0]
        assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 200
        assert (await api.client.get(f"/v1/videos/{video_id}", headers=alice.auth)).status_code == 200
        assert (await api.client.get(f"/v1/channels/{channel_id}/videos")).status_code == 200
        assert (
            await api.client.get(f"/v1/channels/{channel_id}/videos", headers=alice.auth)
        ).status_code == 200
        assert (await api.view(video_id)).status_code == 202
        assert (await api.client.get(f"/v1/videos/{video_id}/views")).status_code == 200
        assert (await api.client.post(f"/v1/videos/{video_id}/playback")).status_code == 200
        assert (
            await api.client.put(f"/v1/me/subscriptions/{channel_id}", headers=bob.auth)
        ).status_code == 204
        assert (await api.client.get("/v1/me", headers=bob.auth)).status_code == 200
        assert (await api.flusher().flush_once()).failed == 0
        feed = await api.client.get("/v1/me/feed", headers=bob.auth)
        assert feed.status_code == 200

    checked = 0
    feed_shards = {shard_for(c, validate_shards(["-80", "80-"])) for c in channels}
    for statement in dict.fromkeys(statements):
        verb = statement.split(None, 1)[0].upper()
        if verb in ("SHOW", "USE"):
            continue
        plan = json.dumps([list(r) for r in await vexplain(api, "PLAN", statement)])
        assert "Scatter" not in plan, f"scatter: {statement}\n{plan}"
        if verb == "SELECT":
            touched = await shards_touched(api, statement)
            expected = feed_shards if "channel_id IN" in statement else None
            assert (touched == expected) if expected else len(touched) <= 1, (statement, touched)
        checked += 1
    assert checked >= 10, statements
    print(f"\n{checked} distinct hot-path statements, none a scatter")


async def test_a_scatter_query_is_caught(api: Api) -> None:
    """The check above can fail: a query without the vindex column is a scatter to vtgate."""
    plan = json.dumps(
        [list(r) for r in await vexplain(api, "PLAN", "SELECT video_id FROM videos WHERE title = 'x'")]
    )
    assert "Scatter" in plan
    assert await shards_touched(api, "SELECT video_id FROM videos WHERE title = 'x'") == {"-80", "80-"}


async def test_xxhash_vindex_matches_vitess_for_thousands_of_ids(api: Api) -> None:
    rng = random.Random(20261124)
    ids = [1, 8, 2**63 - 1, *rng.sample(range(1, 2**63), 3000)]
    with vtgate(api) as conn, conn.cursor() as cur:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cur.execute(f"SELECT id, keyspace_id FROM xxhash WHERE id IN ({', '.join(map(str, chunk))})")
            got = {int(row[0]): bytes(row[1]) for row in cur.fetchall()}
            assert got == {i: keyspace_id(i) for i in chunk}


async def test_shard_map_is_read_from_the_cluster(api: Api) -> None:
    assert await cluster_shards(api.services.db.primary) == ["-80", "80-"]
    assert [r.name for r in await api.flusher().shards()] == ["-80", "80-"]


def replication(sql: str) -> None:
    user = "root" if os.geteuid() == 0 else "vidstore-vt"
    for pair in filter(None, os.environ["VIDSTORE_TEST_REPLICATION"].split(",")):
        with pymysql.connect(unix_socket=pair.split(">")[1], user=user) as conn, conn.cursor() as cur:
            cur.execute(sql)


async def test_feeds_read_replicas_and_owners_read_their_writes(api: Api) -> None:
    alice, bob = await api.user(), await api.user()
    channel_id = await api.channel(alice)
    await api.client.put(f"/v1/me/subscriptions/{channel_id}", headers=bob.auth)
    replication("STOP SLAVE SQL_THREAD")  # replicas fall behind from here on
    try:
        video_id = await api.video(alice, channel_id, settle=False)
        # The owner reads the primary: their new video is there at once.
        assert (await api.client.get(f"/v1/videos/{video_id}", headers=alice.auth)).status_code == 200
        own = await api.client.get(f"/v1/channels/{channel_id}/videos", headers=alice.auth)
        assert [v["video_id"] for v in own.json()["items"]] == [video_id]
        # Video by id: the write-through cache has it at once; on a cache miss the replica, which
        # has not applied it yet, answers.
        assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 200
        await api.services.videos.cache.invalidate(video_id)
        assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 404
        await api.services.videos.cache.invalidate(video_id)  # forget the 404
        public = await api.client.get(f"/v1/channels/{channel_id}/videos")
        assert public.json()["items"] == []
        assert (await api.client.get("/v1/me/feed", headers=bob.auth)).json()["items"] == []
    finally:
        replication("START SLAVE SQL_THREAD")
    replicas_caught_up()
    assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 200
    feed = (await api.client.get("/v1/me/feed", headers=bob.auth)).json()
    assert [v["video_id"] for v in feed["items"]] == [video_id]


def tablets_serving(api: Api) -> int:
    with vtgate(api) as conn, conn.cursor() as cur:
        cur.execute("SHOW VITESS_TABLETS")
        return sum(1 for row in cur.fetchall() if "SERVING" in row)


async def test_reads_fall_back_to_the_primary_when_no_replica_serves(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await api.user()
    channel_id = await api.channel(alice)
    video_id = await api.video(alice, channel_id)
    serving = tablets_serving(api)
    replicas = [(201, "-80"), (301, "80-")]
    for uid, _ in replicas:
        await stop_tablet(uid)
    try:
        assert (await api.client.get(f"/v1/videos/{video_id}")).status_code == 200
        listed = await api.client.get(f"/v1/channels/{channel_id}/videos")
        assert [v["video_id"] for v in listed.json()["items"]] == [video_id]
        assert "replica read failed, reading the primary" in caplog.text
    finally:
        for uid, shard in replicas:
            await start_tablet(uid, "vidstore", shard)

    async def all_serving() -> bool:  # vtgate re-discovers them (tablet refresh every 5 s)
        return tablets_serving(api) >= serving

    await eventually(all_serving, 60, "the replica tablets to serve again", every=0.5)
