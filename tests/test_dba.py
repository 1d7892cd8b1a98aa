"""The DBA tool's pure parts: vschema/ checked against schema/, and plans (severity, drift, lookup
vindexes) computed against made-up live snapshots. tests/test_schema_changes.py runs it for real."""

from __future__ import annotations

import copy

import pytest

from sharding.dba import ROOT, load
from sharding.plan import REFUSED, SAFE, UNSAFE, LiveKeyspace, LiveShard, Plan, make_plan
from sharding.schema import Keyspace, SchemaError, apply_order, parse_create, parse_tables, problems


@pytest.fixture
def repo() -> dict[str, Keyspace]:
    return load(ROOT / "schema", ROOT / "vschema")


def test_the_repository_agrees_with_itself(repo: dict[str, Keyspace]) -> None:
    assert problems(repo) == []
    assert set(repo["vidstore"].tables) >= {"channels", "videos", "video_views", "flush_log"}
    assert repo["vidstore_lookup"].tables["video_seq"].sequence
    assert apply_order(repo) == ["vidstore_lookup", "vidstore", "vidstore_idx"]


def broken(repo: dict[str, Keyspace], keyspace: str, path: list[str], value: object) -> list[str]:
    changed = copy.deepcopy(repo)
    node = changed[keyspace].vschema
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value  # type: ignore[index]
    return problems(changed)


@pytest.mark.parametrize(
    ("keyspace", "path", "value", "expected"),
    [
        (
            "vidstore",
            ["tables", "videos", "column_vindexes"],
            [{"column": "chan_id", "name": "xxhash"}],
            "chan_id",
        ),
        ("vidstore", ["tables", "video_views", "column_vindexes"], [], "primary vindex"),
        (
            "vidstore",
            ["tables", "channels", "column_vindexes"],
            [{"column": "channel_id", "name": "md5"}],
            "md5",
        ),
        (
            "vidstore",
            ["tables", "ghosts"],
            {"column_vindexes": [{"column": "id", "name": "xxhash"}]},
            "ghosts",
        ),
        (
            "vidstore",
            ["tables", "users", "auto_increment"],
            {"column": "user_id", "sequence": "vidstore_lookup.nope"},
            "nope",
        ),
        ("vidstore", ["vindexes", "video_lookup", "params", "table"], "vidstore_lookup.missing", "missing"),
        ("vidstore", ["vindexes", "video_lookup", "params", "to"], "ksid", "ksid"),
        ("vidstore_lookup", ["tables", "video_seq"], {}, "not a sequence"),
    ],
)
def test_each_kind_of_mismatch_is_named(
    repo: dict[str, Keyspace], keyspace: str, path: list[str], value: object, expected: str
) -> None:
    found = broken(repo, keyspace, path, value)
    assert any(expected in p for p in found), found


def test_a_table_missing_from_vschema_is_named(repo: dict[str, Keyspace]) -> None:
    changed = copy.deepcopy(repo)
    del changed["vidstore"].vschema["tables"]["subscriptions"]
    assert problems(changed) == ["vidstore.subscriptions: in schema/ but not in vschema/"]


def test_the_parser_reads_every_column_of_the_long_tables(repo: dict[str, Keyspace]) -> None:
    videos = repo["vidstore"].tables["videos"]
    assert len(videos.columns) == 14  # the old regex saw 4
    assert videos.columns["status"].type == "enum('draft', 'processing', 'ready', 'failed')"
    assert videos.columns["duration_ms"].nullable and videos.columns["duration_ms"].default == "NULL"
    assert set(videos.indexes) == {"PRIMARY", "channel_newest", "channel_feed"}
    assert repo["vidstore_lookup"].tables["user_seq"].seeds  # the sequence's first row


def test_the_files_and_mariadbs_show_create_table_parse_alike(repo: dict[str, Keyspace]) -> None:
    shown = """CREATE TABLE `videos_x` (
  `video_id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `duration_ms` bigint(20) unsigned DEFAULT NULL,
  `updated_at` datetime(6) NOT NULL DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6),
  PRIMARY KEY (`video_id`), UNIQUE KEY `u` (`duration_ms`)
) ENGINE=InnoDB AUTO_INCREMENT=77 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"""
    written = """CREATE TABLE videos_x (video_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  duration_ms BIGINT UNSIGNED NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
  ON UPDATE CURRENT_TIMESTAMP(6), PRIMARY KEY (video_id), UNIQUE KEY u (duration_ms))
  DEFAULT CHARSET=utf8mb4;"""
    assert parse_create(shown).shape() == parse_tables(written)["videos_x"].shape()


def test_the_parser_refuses_what_does_not_belong_in_schema() -> None:
    with pytest.raises(SchemaError, match="only CREATE TABLE"):
        parse_tables("CREATE TABLE t (a INT); DELETE FROM t;")
    with pytest.raises(SchemaError, match="before its CREATE"):
        parse_tables("INSERT INTO t VALUES (1);")


def live_as(repo: dict[str, Keyspace], populated: bool = True) -> dict[str, LiveKeyspace]:
    """A cluster whose every shard holds exactly what the files say (rows in every table)."""
    live = {}
    for name, ks in repo.items():
        shards = {}
        for shard in ["-80", "80-"] if ks.sharded else ["0"]:
            tables = {t: parse_create(table.create) for t, table in ks.tables.items()}
            shards[shard] = LiveShard(tables, dict.fromkeys(tables, 100), set(tables) if populated else set())
        live[name] = LiveKeyspace(name, shards, copy.deepcopy(dict(ks.vschema)), ks.sharded)
    return live


def with_videos(repo: dict[str, Keyspace], old: str, new: str) -> dict[str, Keyspace]:
    changed = copy.deepcopy(repo)
    ddl = (ROOT / "schema/vidstore/001_core.sql").read_text()
    assert old in ddl
    # Only 001_core.sql's tables change; the keyspace's other files (e.g. job_outbox) stay as they are.
    changed["vidstore"].tables |= parse_tables(ddl.replace(old, new))
    return changed


FEED = "KEY channel_feed (channel_id, status, visibility, video_id)"
THUMB = "thumbnail_key  VARCHAR(300)    NULL,"


@pytest.mark.parametrize(
    ("old", "new", "severity", "why"),
    [
        (FEED, FEED + ", KEY by_title (title)", SAFE, "adds index by_title"),
        (THUMB, THUMB + " lang CHAR(2) NULL,", SAFE, "adds column lang"),
        (THUMB, THUMB + " lang CHAR(2) NOT NULL,", UNSAFE, "NOT NULL without a default"),
        (THUMB, "thumbnail_key VARCHAR(200) NULL,", UNSAFE, "narrows"),
        (THUMB, "thumbnail_key VARCHAR(400) NULL,", SAFE, "changes column thumbnail_key"),
        (THUMB, "thumbnail_key VARCHAR(300) NOT NULL,", UNSAFE, "NULL -> NOT NULL"),
        (THUMB, "", UNSAFE, "drops column thumbnail_key"),
        (FEED, "KEY channel_feed (channel_id, video_id)", UNSAFE, "changes index channel_feed"),
        (FEED, FEED + ", UNIQUE KEY t_uq (title)", UNSAFE, "unique-key change"),
        ("'ready','failed')", "'ready','failed','gone')", SAFE, "changes column status"),
        ("'ready','failed')", "'ready')", UNSAFE, "narrows"),
    ],
)
def test_each_table_change_gets_its_severity(
    repo: dict[str, Keyspace], old: str, new: str, severity: str, why: str
) -> None:
    plan = make_plan("vitess", with_videos(repo, old, new), live_as(repo))
    (step,) = plan.steps
    assert (step.action, step.target, step.strategy, step.severity) == (
        "alter-table",
        "videos",
        "vitess",
        severity,
    )
    assert step.change.startswith("ALTER TABLE videos ")
    assert any(why in r for r in step.reasons), step.reasons
    assert step.rows == 200  # both shards' estimates


def test_the_repository_against_itself_plans_nothing(repo: dict[str, Keyspace]) -> None:
    live = live_as(repo)
    assert make_plan("vitess", repo, live).steps == []
    # the stamp is the live schema's: another live schema, another stamp
    other = live_as(with_videos(repo, THUMB, THUMB + " lang CHAR(2) NULL,"))
    assert make_plan("vitess", repo, live).base != make_plan("vitess", repo, other).base


def test_a_new_table_is_created_directly_and_a_dropped_one_is_unsafe(repo: dict[str, Keyspace]) -> None:
    changed = copy.deepcopy(repo)
    changed["vidstore"].tables.pop("subscriptions")
    changed["vidstore"].vschema["tables"].pop("subscriptions")
    steps = make_plan("vitess", changed, live_as(repo)).steps
    assert [(s.action, s.target, s.severity) for s in steps] == [
        ("drop-table", "subscriptions", UNSAFE),
        ("vschema", "vidstore.json", UNSAFE),
    ]
    created = make_plan("vitess", repo, live_as(changed)).steps
    assert [(s.action, s.target, s.strategy, s.severity) for s in created] == [
        ("create-table", "subscriptions", "direct", SAFE),
        ("vschema", "vidstore.json", "ApplyVSchema", SAFE),
    ]


@pytest.mark.parametrize(
    ("path", "value", "severity", "why"),
    [
        (["tables", "videos", "column_vindexes", 0, "column"], "owner_id", REFUSED, "primary vindex"),
        (["sharded"], False, REFUSED, "flips `sharded`"),
        (["vindexes", "video_lookup", "params", "to"], "keyspace_id ", UNSAFE, "changes vindex video_lookup"),
        (["tables", "users", "auto_increment", "sequence"], "vidstore_lookup.video_seq", UNSAFE, "re-points"),
    ],
)
def test_each_vschema_change_gets_its_severity(
    repo: dict[str, Keyspace], path: list[str | int], value: object, severity: str, why: str
) -> None:
    changed = copy.deepcopy(repo)
    node: object = changed["vidstore"].vschema
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    plan = make_plan("vitess", changed, live_as(repo))
    assert plan.severity == severity
    assert any(why in r for s in plan.steps for r in s.reasons), plan.steps


def test_a_primary_vindex_change_on_an_empty_table_is_only_unsafe(repo: dict[str, Keyspace]) -> None:
    changed = copy.deepcopy(repo)
    changed["vidstore"].vschema["tables"]["videos"]["column_vindexes"][0]["column"] = "owner_id"
    assert make_plan("vitess", changed, live_as(repo, populated=False)).severity == UNSAFE


def test_drift_between_shards_is_shown_and_refused(repo: dict[str, Keyspace]) -> None:
    live = live_as(repo)
    shard = live["vidstore"].shards["80-"]
    shard.tables["flush_log"] = parse_create(repo["vidstore"].tables["flush_log"].create.replace(
        "applied_at DATETIME(6)", "extra INT NULL, applied_at DATETIME(6)"))  # fmt: skip
    plan = make_plan("vitess", repo, live)
    (step,) = plan.steps
    assert (step.action, step.target, step.severity) == ("drift", "flush_log", REFUSED)
    assert "80- differs from -80" in step.change and "DROP COLUMN extra" in step.change


def test_a_lookup_vindex_on_a_populated_table_goes_through_lookupvindex(repo: dict[str, Keyspace]) -> None:
    changed = copy.deepcopy(repo)
    vschema = changed["vidstore"].vschema
    vschema["vindexes"]["handle_lookup"] = {
        "type": "consistent_lookup_unique",
        "params": {"table": "vidstore_lookup.handle_lookup", "from": "handle", "to": "keyspace_id"},
        "owner": "channels",
    }
    vschema["tables"]["channels"]["column_vindexes"].append({"column": "handle", "name": "handle_lookup"})
    changed["vidstore_lookup"].vschema["tables"]["handle_lookup"] = {}
    changed["vidstore_lookup"].tables |= parse_tables(
        "CREATE TABLE handle_lookup (handle VARCHAR(64) NOT NULL, keyspace_id VARBINARY(128),"
        " PRIMARY KEY (handle));"
    )
    ddl = (ROOT / "schema/vidstore/001_core.sql").read_text()
    changed["vidstore"].tables |= parse_tables(ddl.replace("title        VARCHAR(100)    NOT NULL,",
        "title VARCHAR(100) NOT NULL, handle VARCHAR(64) NULL, UNIQUE KEY handle_uq (handle),"))  # fmt: skip
    steps = make_plan("vitess", changed, live_as(repo)).steps
    # The lookup table and its VSchema entry are LookupVindex's to make; the column comes first.
    assert [(s.keyspace, s.action, s.target) for s in steps] == [
        ("vidstore", "alter-table", "channels"),
        ("vidstore", "lookup-vindex", "handle_lookup"),
    ]
    assert steps[1].payload["column"] == "handle" and steps[1].strategy == "LookupVindex"
    # Plan JSON round-trips (apply --plan reads it back).
    plan = make_plan("vitess", changed, live_as(repo))
    assert Plan.from_json(plan.to_json()).to_json() == plan.to_json()
