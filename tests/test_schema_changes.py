# ruff: noqa: E501  (the edits below are DDL/JSON text as it appears in the files)
"""The DBA workflow for real: `stack/dba.sh` plans and applies edited copies of schema/ and vschema/
against the running database (online DDL on Vitess while the API serves traffic), and every test
leaves the live schema as the repository's files say (plan: nothing to do)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pytest

from sharding.dba import ROOT, Exit, load
from tests.conftest import BACKEND, Api, replicas_caught_up, report, tablet
from tests.live import eventually, put_back, reshard

vitess_only = pytest.mark.skipif(
    BACKEND != "vitess", reason="online DDL and VSchema: the vitess pass runs it"
)
DATABASE = "vidstore_test"  # plain MariaDB: the suite's database (stack/test.sh)


def dba(*args: str, files: Path | None = None) -> tuple[int, Any]:
    """`stack/dba.sh ... --json` against the suite's backend; (exit code, its JSON)."""
    where = ["--schema", str(files / "schema"), "--vschema", str(files / "vschema")] if files else []
    backend = ["--backend", "mariadb", "--database", DATABASE] if BACKEND == "mariadb" else []
    done = subprocess.run(
        ["bash", str(ROOT / "stack/dba.sh"), *backend, *where, *args, "--json"],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=600,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return done.returncode, json.loads(lines[-1])


async def adba(*args: str, files: Path | None = None) -> tuple[int, Any]:
    return await asyncio.to_thread(dba, *args, files=files)


def edited(tmp_path: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    """A copy of schema/ and vschema/ with (old, new) text replacements per file."""
    folder = tmp_path / f"files{len(list(tmp_path.iterdir()))}"
    shutil.copytree(ROOT / "schema", folder / "schema")
    shutil.copytree(ROOT / "vschema", folder / "vschema")
    for name, changes in edits.items():
        path = folder / name
        text = path.read_text() if path.exists() else ""
        for old, new in changes:
            assert old in text, (name, old)
            text = text.replace(old, new, 1)
        path.write_text(text)
    return folder


@pytest.fixture
def in_sync() -> Iterator[None]:
    """The live schema matches the files before and after the test; a test that fails half-way
    still leaves the files' schema for the tests after it (and fails all the same)."""
    assert dba("plan")[0] == Exit.OK, dba("plan")[1]
    yield
    code, plan = dba("plan")
    if code != Exit.OK:
        dba("apply", "--allow-unsafe")
    assert code == Exit.OK, plan


def tablets() -> list[str]:
    """Every MariaDB of the cluster (primaries and replicas), by socket."""
    pairs = filter(None, os.environ.get("VIDSTORE_TEST_REPLICATION", "").split(","))
    return [s for pair in pairs for s in pair.split(">")]


def columns_on_tablets(schema: str, table: str) -> list[set[str]]:
    """The columns of schema.table on every tablet that has it (after replication caught up)."""
    replicas_caught_up()
    found = []
    for socket in tablets():
        with tablet(socket) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s",
                (schema, table),
            )
            names = {str(r[0]) for r in cur.fetchall()}
        if names:
            found.append(names)
    return found


def vtgate(sql: str, database: str = "vidstore") -> list[tuple[Any, ...]]:
    url = os.environ["VIDSTORE_DATABASE_URL"]
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pymysql.connect(
        host="127.0.0.1", port=port, user="vidstore", password=os.environ["VIDSTORE_DB_PASSWORD"],
        database=database, autocommit=True,
    ) as conn, conn.cursor() as cur:  # fmt: skip
        cur.execute(sql)
        return list(cur.fetchall())


def test_the_parser_reads_every_column_the_database_has() -> None:
    """Every column of every table in schema/, with its type and nullability, as information_schema
    of the live database has it (Vitess: each keyspace through vtgate; MariaDB: the one database)."""
    desired = load(ROOT / "schema", ROOT / "vschema")
    for ks in desired.values():
        schema = DATABASE if BACKEND == "mariadb" else ks.name
        rows = vtgate_or_mariadb(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            f" WHERE table_schema = '{schema}'",
            ks.name,
        )
        live = {(str(t), str(c)): (str(d).lower(), n == "YES") for t, c, d, n in rows}
        parsed = {
            (t.name, c.name): (c.type.split("(")[0].split()[0], c.nullable)
            for t in ks.tables.values()
            for c in t.columns.values()
        }
        assert parsed, ks.name
        assert {k: v for k, v in live.items() if k[0] in ks.tables} == parsed
    report(f"parser vs information_schema: {sum(len(k.tables) for k in desired.values())} tables agree")


def vtgate_or_mariadb(sql: str, keyspace: str) -> list[tuple[Any, ...]]:
    if BACKEND == "vitess":
        return vtgate(sql, keyspace)
    url = os.environ["VIDSTORE_DATABASE_URL"]
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pymysql.connect(
        host="127.0.0.1", port=port, user="vidstore", password=os.environ["VIDSTORE_DB_PASSWORD"],
        database=DATABASE,
    ) as conn, conn.cursor() as cur:  # fmt: skip
        cur.execute(sql)
        return list(cur.fetchall())


LANG = {
    "schema/vidstore/001_core.sql": [
        ("  thumbnail_key  VARCHAR(300)    NULL,", "  thumbnail_key  VARCHAR(300)    NULL,\n  lang CHAR(2) NULL,"),
        ("  KEY channel_newest (channel_id, video_id),", "  KEY channel_newest (channel_id, video_id),\n  KEY lang_idx (lang),"),
    ]
}  # fmt: skip


@pytest.mark.skipif(BACKEND != "mariadb", reason="plain MariaDB; the vitess pass runs the online version")
def test_plain_mariadb_add_then_drop_a_column(tmp_path: Path, in_sync: None) -> None:
    files = edited(tmp_path, LANG)
    code, plan = dba("plan", files=files)
    assert code == Exit.PENDING and [s["strategy"] for s in plan["steps"]] == ["plain DDL"]
    assert dba("apply", files=files)[0] == Exit.OK
    assert dba("plan", files=files)[0] == Exit.OK
    code, refused = dba("apply")  # the repository's files no longer have the column
    assert code == Exit.UNSAFE and "drops column lang and its data" in refused["steps"][0]["reasons"]
    assert dba("apply", "--allow-unsafe")[0] == Exit.OK


@dataclass
class Traffic:
    """Writes and reads through the API until stopped: a video created, read back, listed."""

    api: Api
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    failures: list[str] = field(default_factory=list)
    answered: int = 0  # requests answered so far

    async def until(self, answered: int) -> None:
        """Wait until `answered` requests have been answered in all."""

        async def enough() -> bool:
            return self.answered >= answered

        await eventually(enough, 60, f"{answered} requests of traffic answered")

    async def run(self) -> int:
        api = self.api
        owner = await api.user("ddl-traffic")
        channel = await api.channel(owner)
        while not self.stop.is_set():
            try:
                created = await api.client.post(
                    f"/v1/channels/{channel}/videos", json={"title": f"t{self.answered}"}, headers=owner.auth
                )
                responses = [created]
                if created.status_code == 201:
                    video = created.json()["video_id"]
                    responses.append(await api.client.get(f"/v1/videos/{video}", headers=owner.auth))
                    responses.append(await api.client.get(f"/v1/channels/{channel}/videos"))
                self.failures += [f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}"
                                  for r in responses if r.status_code >= 400]  # fmt: skip
                self.answered += len(responses)
            except Exception as e:  # a request that raised is a failed request too
                self.failures.append(repr(e))
            await asyncio.sleep(0.02)
        return self.answered


@vitess_only
async def test_online_alter_under_traffic_then_unsafe_drop_refused_cancelled_applied(
    api: Api, tmp_path: Path, in_sync: None
) -> None:
    files = edited(tmp_path, LANG)
    code, plan = await adba("plan", files=files)
    assert code == Exit.PENDING
    (step,) = plan["steps"]
    assert (step["action"], step["strategy"], step["severity"]) == ("alter-table", "vitess", "safe")
    assert step["change"] == "ALTER TABLE videos ADD COLUMN lang CHAR(2) NULL, ADD KEY lang_idx (lang)"

    # 1. Online ALTER while the API writes and reads.
    load = Traffic(api)
    loop = asyncio.create_task(load.run())
    await load.until(20)  # traffic before the change...
    started = time.monotonic()
    code, added = await adba("apply", "--wait", files=files)
    took = time.monotonic() - started
    await load.until(load.answered + 20)  # ...and after it, on the new schema
    load.stop.set()
    requests = await loop
    assert code == Exit.OK, added
    failures = load.failures
    assert failures == [], failures
    assert requests > 20, requests
    report(
        f"online ADD COLUMN+INDEX on videos under API traffic: {took:.1f} s, {requests} requests, 0 failed"
    )
    first = added["context"]
    everywhere = columns_on_tablets("vidstore", "videos")
    assert len(everywhere) == 4 and all("lang" in c for c in everywhere)  # 2 shards x primary + replica
    code, status = await adba("status", first)
    assert code == Exit.OK and {m["status"] for m in status["migrations"]} == {"complete"}
    assert {m["shard"] for m in status["migrations"]} == {"-80", "80-"}

    # 2. The repository's files do not have the column: dropping is unsafe, refused without
    # --allow-unsafe. (Reverting is in the README walkthrough, test_readme_schema_walkthrough.)
    code, refused = await adba("apply")
    assert code == Exit.UNSAFE and refused["error"] == "unsafe"
    assert "drops column lang and its data" in refused["steps"][0]["reasons"]

    # 3. Postponed: ready to complete, then cancelled; nothing changed.
    code, postponed = await adba("apply", "--allow-unsafe", "--postpone-completion")
    assert code == Exit.OK
    code, status = await adba("status", postponed["context"], "--wait", "ready")
    assert code == Exit.READY and all(m["ready_to_complete"] for m in status["migrations"])
    assert (await adba("cancel", postponed["context"]))[0] == Exit.OK
    code, status = await adba("status", postponed["context"])
    assert code == Exit.FAILED and {m["status"] for m in status["migrations"]} == {"cancelled"}
    assert all("lang" in c for c in columns_on_tablets("vidstore", "videos"))

    # 4. Applied with --allow-unsafe: dropped on every tablet.
    code, dropped = await adba("apply", "--allow-unsafe", "--wait")
    assert code == Exit.OK, dropped
    assert all("lang" not in c for c in columns_on_tablets("vidstore", "videos"))


@vitess_only
def test_changing_a_populated_tables_primary_vindex_is_refused(tmp_path: Path, in_sync: None) -> None:
    files = edited(
        tmp_path,
        {"vschema/vidstore.json": [('{ "column": "channel_id", "name": "xxhash" },\n        { "column": "video_id"',
                                    '{ "column": "owner_id", "name": "xxhash" },\n        { "column": "video_id"')]},
    )  # fmt: skip
    code, plan = dba("plan", files=files)
    assert code == Exit.REFUSED
    (step,) = plan["steps"]
    assert step["action"] == "vschema" and step["severity"] == "refused"
    assert any("videos: changes the primary vindex" in r and "populated" in r for r in step["reasons"])
    code, refused = dba("apply", "--allow-unsafe", files=files)
    assert code == Exit.REFUSED and refused["error"] == "refused"


@vitess_only
def test_drift_between_shards_is_shown_and_refused(tmp_path: Path, in_sync: None) -> None:
    primary = next(s for s in tablets() if "/mysql-300/" in s)  # vidstore/80-'s primary

    def by_hand(sql: str) -> None:
        with tablet(primary, "vidstore") as conn, conn.cursor() as c:
            c.execute(sql)

    by_hand("ALTER TABLE flush_log ADD COLUMN drifted INT NULL")
    try:
        code, plan = dba("plan")
        assert code == Exit.REFUSED
        drift = [s for s in plan["steps"] if s["action"] == "drift"]
        assert drift and drift[0]["target"] == "flush_log"
        assert "80- differs from -80" in drift[0]["change"] and "drifted" in drift[0]["change"]
        assert dba("apply", "--allow-unsafe")[0] == Exit.REFUSED
        # a plan made now is refused later too, once the live schema moves on
        stale = tmp_path / "plan.json"
        stale.write_text(json.dumps(plan))
    finally:
        by_hand("ALTER TABLE flush_log DROP COLUMN drifted")
    code, answer = dba("apply", "--plan", str(stale))
    assert code == Exit.STALE and answer["error"] == "stale"


HANDLE = {
    "schema/vidstore/001_core.sql": [
        ("  title        VARCHAR(100)    NOT NULL,\n  description  VARCHAR(5000)   NOT NULL DEFAULT '',\n  created_at",
         "  title        VARCHAR(100)    NOT NULL,\n  handle       VARCHAR(64)     NULL,\n"
         "  description  VARCHAR(5000)   NOT NULL DEFAULT '',\n  created_at"),
    ]
}  # fmt: skip
LOOKUP = {
    **HANDLE,
    "schema/vidstore_lookup/002_handles.sql": [
        ("", "CREATE TABLE channel_handle_lookup (\n  handle VARCHAR(64) NOT NULL,\n"
             "  keyspace_id VARBINARY(128),\n  PRIMARY KEY (handle)\n);\n"),
    ],
    "vschema/vidstore_lookup.json": [
        ('"video_seq": { "type": "sequence" }', '"video_seq": { "type": "sequence" },\n    "channel_handle_lookup": {}')
    ],
    "vschema/vidstore.json": [
        ('"vindexes": {', '"vindexes": {\n    "channel_handle_lookup": {"type": "consistent_lookup_unique", '
         '"params": {"table": "vidstore_lookup.channel_handle_lookup", "from": "handle", "to": "keyspace_id", '
         '"ignore_nulls": "true"}, "owner": "channels"},'),
        ('"column_vindexes": [{ "column": "channel_id", "name": "xxhash" }],\n      "auto_increment": '
         '{ "column": "channel_id"',
         '"column_vindexes": [{ "column": "channel_id", "name": "xxhash" }, '
         '{"column": "handle", "name": "channel_handle_lookup"}],\n      "auto_increment": { "column": "channel_id"'),
    ],
}  # fmt: skip


@vitess_only
async def test_a_lookup_vindex_on_a_populated_table(api: Api, tmp_path: Path, in_sync: None) -> None:
    owner = await api.user("handles")
    channels = [await api.channel(owner, f"c{i}") for i in range(6)]
    # The DBA adds the column, the application fills it (here: shard by shard, as vtgate's SINGLE
    # transaction mode wants), then the vindex is added over the populated column.
    assert (await adba("apply", "--wait", files=edited(tmp_path, HANDLE)))[0] == Exit.OK
    for shard in ("-80", "80-"):
        await asyncio.to_thread(
            vtgate,
            "UPDATE channels SET handle = CONCAT('h', channel_id) WHERE handle IS NULL",
            f"vidstore:{shard}",
        )
    files = edited(tmp_path, LOOKUP)
    code, plan = await adba("plan", files=files)
    assert code == Exit.PENDING, plan
    assert [(s["keyspace"], s["action"]) for s in plan["steps"]] == [("vidstore", "lookup-vindex")]
    code, done = await adba("apply", files=files)
    assert code == Exit.OK, done
    try:
        assert (await adba("plan", files=files))[0] == Exit.OK  # what LookupVindex made is what the files say
        handles = await asyncio.to_thread(vtgate, "SELECT COUNT(*) FROM channels WHERE handle IS NOT NULL")
        looked_up = await asyncio.to_thread(
            vtgate, "SELECT COUNT(*) FROM channel_handle_lookup", "vidstore_lookup"
        )
        assert looked_up == handles and handles[0][0] >= len(channels)  # backfilled
        query = f"SELECT channel_id FROM channels WHERE handle = 'h{channels[3]}'"
        assert await asyncio.to_thread(vtgate, query) == [(channels[3],)]
        ((explained,),) = await asyncio.to_thread(vtgate, f"VEXPLAIN PLAN {query}")
        assert "VindexLookup" in explained and "EqualUnique" in explained and "Scatter" not in explained
        # the application, which never sets a handle, still creates channels (ignore_nulls)
        await api.channel(owner, "no handle")
    finally:
        # Back to the repository's files: the vindex, its table and the column go (unsafe).
        code, plan = await adba("plan")
        assert code == Exit.UNSAFE, plan
        code, undone = await adba("apply", "--allow-unsafe", "--wait")
        assert code == Exit.OK, undone


@vitess_only
def test_readme_schema_walkthrough_works_as_printed(in_sync: None) -> None:
    """README "Changing the schema": edit, plan, apply postponed, status, complete, revert."""
    match = re.search(r"<!-- dba walkthrough -->\s*```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert match, "README.md lost its schema walkthrough"
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", match.group(1)],
        cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "ALTER TABLE videos ADD COLUMN lang CHAR(2) NULL, ADD KEY lang_idx (lang)" in out
    assert out.count("ready to complete") >= 2  # both shards waited for the cut-over
    assert ">> complete:" in out and ">> revert:" in out
    assert out.rstrip().endswith("nothing to do")
    report(
        f"README schema walkthrough (postponed ALTER, complete, revert): {time.monotonic() - started:.0f} s"
    )


def stopped_online_ddl(uid: int) -> int:
    """Stopped online-DDL streams (kept for REVERT) on one tablet's MariaDB."""
    socket = next(s for s in tablets() if f"/mysql-{uid}/" in s)
    with tablet(socket) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM _vt.vreplication WHERE workflow_type = 5 AND state = 'Stopped'")
        (count,) = cur.fetchone() or (0,)
    return int(count)


@vitess_only
async def test_a_reshard_after_online_ddl_releases_the_finished_migrations(
    tmp_path: Path, in_sync: None
) -> None:
    """A finished online DDL migration keeps a stopped stream on each shard it ran on (for REVERT),
    and Vitess will not switch a reshard's writes past one ("cannot migrate until all streams are
    running"). `make reshard` releases them: after an online ALTER and its undoing, the hot shard is
    split and merged back."""
    assert (await adba("apply", "--wait", files=edited(tmp_path, LANG)))[0] == Exit.OK
    assert (await adba("apply", "--allow-unsafe", "--wait"))[0] == Exit.OK  # the files' schema again
    assert stopped_online_ddl(200) > 0  # vidstore/-80's primary
    split = False
    try:
        split_seconds, split_log = await reshard("-40,40-80,80-")
        split = True
        assert "finished online DDL migration(s) of vidstore" in split_log, split_log[-3000:]
        merge_seconds, _ = await reshard("-80,80-")
    except BaseException:
        await (put_back("-80,80-") if split else put_back("-40,40-80,80-", "--abort"))
        raise
    report(
        f"after online DDL: hot-shard split in {split_seconds:.0f} s (finished migrations released), "
        f"merged back in {merge_seconds:.0f} s"
    )
