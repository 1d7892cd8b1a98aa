"""The DBA's command: vschema/ checked against schema/ (pure), and applied through vtctld."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sharding.dba import ROOT, load
from sharding.schema import Keyspace, apply_order, problems
from tests.conftest import BACKEND


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
        node = node[key]  # type: ignore[index]
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
    del changed["vidstore"].vschema["tables"]["subscriptions"]  # type: ignore[attr-defined]
    assert problems(changed) == ["vidstore.subscriptions: in schema/ but not in vschema/"]


def test_check_command_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "sharding.dba", "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0 and "agree" in ok.stdout
    (tmp_path / "vschema").mkdir()
    for f in (ROOT / "vschema").glob("*.json"):
        text = f.read_text().replace('"column": "channel_id"', '"column": "chanel_id"')
        (tmp_path / "vschema" / f.name).write_text(text)
    bad = subprocess.run(
        [sys.executable, "-m", "sharding.dba", "check", "--vschema", str(tmp_path / "vschema")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "chanel_id" in bad.stderr


@pytest.mark.skipif(BACKEND != "vitess", reason="needs vtctld: runs in make test's vitess pass")
def test_dry_run_against_the_cluster_changes_nothing() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "stack/vitess/schema-apply.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert result.returncode == 0, result.stderr
    assert "vidstore: vschema dry-run accepted by vtctld" in result.stdout
    assert "would apply" in result.stdout
