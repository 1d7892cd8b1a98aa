"""The xxhash vindex and key-range math, byte-exact with Vitess's published vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharding import KeyRange, group_by_shard, keyspace_id, shard_for, validate_shards


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
