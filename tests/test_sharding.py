"""The xxhash vindex and key-range math, byte-exact with Vitess's published vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharding import KeyRange, group_by_shard, keyspace_id, shard_for, validate_shards
from sharding.probe import id_in, probe_target
from sharding.reshard import CopyProgress

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("value", "kid"),
    [(1, "d46405367612b4b7"), (-1, "d8e2a6a7c8c7623d"), (8, "64c8aa7cbb6246ad")],
)
def test_vitess_vectors(value: int, kid: str) -> None:
    assert keyspace_id(value).hex() == kid


def test_shard_names_and_ranges() -> None:
    assert KeyRange.parse("-80") == KeyRange(b"", b"\x80")
    assert KeyRange.parse("80-") == KeyRange(b"\x80", b"")
    assert KeyRange.parse("40-80").name == "40-80"
    assert KeyRange.parse("-").name == "-"
    assert shard_for(1, validate_shards(["-80", "80-"])) == "80-"  # d4... >= 80
    assert shard_for(8, validate_shards(["-80", "80-"])) == "-80"  # 64... < 80
    for bad in (["-80"], ["-80", "40-"], ["-40", "80-"], ["-", "80-"], ["zz-"], []):
        with pytest.raises(ValueError):
            validate_shards(bad)


@given(st.lists(st.integers(1, 2**63 - 1), max_size=200))
def test_grouping_partitions_by_key_range(ids: list[int]) -> None:
    shards = validate_shards(["-40", "40-80", "80-c0", "c0-"])
    groups = group_by_shard(ids, lambda v: v, shards)
    assert sorted(v for g in groups.values() for v in g) == sorted(ids)
    for name, members in groups.items():
        assert all(KeyRange.parse(name).contains(keyspace_id(v)) for v in members)


@pytest.mark.parametrize("shard", ["-40", "40-80", "80-c0", "c0-", "-80", "80-", "-"])
def test_the_probe_aims_inside_each_range(shard: str) -> None:
    value = id_in(shard)
    assert KeyRange.parse(shard).contains(keyspace_id(value))
    assert all(not KeyRange.parse(shard).contains(keyspace_id(v)) for v in range(1, value))


def test_the_probe_reads_a_table_routed_by_xxhash() -> None:
    vschema = json.loads((ROOT / "vschema" / "vidstore.json").read_text())
    assert probe_target(vschema) == ("channels", "channel_id")
    lookup_only = {
        "vindexes": {"l": {"type": "lookup"}},
        "tables": {"t": {"column_vindexes": [{"column": "c", "name": "l"}]}},
    }
    assert probe_target(lookup_only) is None


def workflow_status(tables: dict[str, dict[str, int]], *streams: tuple[str, str, str]) -> dict[str, object]:
    """A `Workflow status --format json` answer: its copy state and (status, position, info) streams."""
    shard = [{"status": status, "position": at, "info": info} for status, at, info in streams]
    return {"table_copy_state": tables, "shard_streams": {"vidstore/-80": {"streams": shard}}}


def test_copy_is_done_only_once_every_stream_replicates_from_a_position() -> None:
    started = ("Running", "", "VStream has not started")
    replicating = ("Running", "MariaDB/0-200-17", "VStream Lag: 0s")
    # Just after create (the CI failure of stop 20): Running, no copy state yet, no position.
    assert not CopyProgress.of(workflow_status({}, started, started)).done
    assert not CopyProgress.of(workflow_status({}, replicating, started)).done
    copying = CopyProgress.of(workflow_status({"videos": {"rows_copied": 5, "rows_total": 10}}, replicating))
    assert not copying.done and (copying.copied, copying.total) == (5, 10)
    behind = ("Running", "MariaDB/0-300-9", "VStream Lag: 3s")
    done = CopyProgress.of(workflow_status({}, replicating, behind))
    assert done.done and not done.failing and done.lag == 3
    assert not CopyProgress.of({}).done  # no streams yet
    assert CopyProgress.of(workflow_status({}, ("Error", "", "duplicate key"))).failing == ["duplicate key"]
