"""Tablet uids, their ports and the reshard plan: pure functions (sharding/layout.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharding.layout import (
    FIXED_PORTS,
    UID_MAX,
    UID_MIN,
    Tablet,
    allocate,
    format_layout,
    parse_layout,
    plan,
    ports,
    resume_plan,
)

DEFAULT = parse_layout(
    """
    100 vidstore_lookup 0 primary
    101 vidstore_lookup 0 replica
    200 vidstore -80 primary
    201 vidstore -80 replica
    300 vidstore 80- primary
    301 vidstore 80- replica
    """
)
QUARTERS = ["-40", "40-80", "80-c0", "c0-"]


def test_no_two_tablets_of_the_scheme_share_a_port() -> None:
    seen: dict[int, int] = {}
    for uid in range(UID_MIN, UID_MAX + 1):
        for port in ports(uid):
            assert port not in seen, f"uid {uid} and uid {seen[port]} both use port {port}"
            assert port not in FIXED_PORTS
            seen[port] = uid
    # The trap the window avoids: uid 600's vttablet port is uid 100's gRPC port.
    assert ports(600)[0] == ports(100)[1]


@given(st.lists(st.sampled_from([*QUARTERS, "-80", "80-", "-20", "20-40"]), min_size=1, max_size=12))
def test_allocated_uids_are_new_pairs_in_the_window(shards: list[str]) -> None:
    new = allocate(DEFAULT, "vidstore", shards)
    uids = [t.uid for t in DEFAULT + new]
    assert len(uids) == len(set(uids))
    assert all(UID_MIN <= t.uid <= UID_MAX for t in new)
    assert [t.role for t in new] == ["primary", "replica"] * len(shards)


def test_a_merge_back_reuses_the_historical_uids() -> None:
    split = allocate(DEFAULT, "vidstore", QUARTERS)
    assert [t.uid for t in split if t.role == "primary"] == [110, 120, 130, 140]
    after_split = [t for t in DEFAULT if t.keyspace != "vidstore"] + split
    merged = allocate(after_split, "vidstore", ["-80", "80-"])
    assert [t.uid for t in merged] == [200, 201, 300, 301]


def test_layout_file_round_trips() -> None:
    assert parse_layout("# header\n" + format_layout(DEFAULT)) == DEFAULT
    assert DEFAULT[2] == Tablet(200, "vidstore", "-80", "primary")


def test_plans() -> None:
    full = plan("vidstore", ["-80", "80-"], QUARTERS)
    assert (full.sources, full.new, full.workflow) == (["-80", "80-"], QUARTERS, "to_x40_40x80_80xc0_c0x")
    hot = plan("vidstore", ["-80", "80-"], ["-40", "40-80", "80-"])
    assert (hot.sources, hot.new) == (["-80"], ["-40", "40-80"])
    merge = plan("vidstore", QUARTERS, ["-80", "80-"])
    assert (merge.sources, merge.new) == (QUARTERS, ["-80", "80-"])
    assert plan("vidstore", QUARTERS, QUARTERS).new == []
    assert plan("vidstore", ["-80", "80-"], ["-40", "40-"]).new == ["-40", "40-"]
    for bad in (["-40", "80-"], ["-80"], ["-40", "40-80"]):
        with pytest.raises(ValueError):
            plan("vidstore", ["-80", "80-"], bad)


def test_resume_plans_read_the_topology() -> None:
    # Copying: sources serve, the new shards exist but do not.
    copying = {"-80": True, "80-": True, "-40": False, "40-80": False}
    assert resume_plan("vidstore", copying, ["-40", "40-80", "80-"], []).new == ["-40", "40-80"]
    # Writes switched, not completed: the new shards serve, the source lingers.
    switched = {"-80": False, "80-": True, "-40": True, "40-80": True}
    resumed = resume_plan("vidstore", switched, ["-40", "40-80", "80-"], [])
    assert (resumed.sources, resumed.new) == (["-80"], ["-40", "40-80"])
    # Completed: only the layout file's old shards are left, to retire.
    done = resume_plan(
        "vidstore", {"-40": True, "40-80": True, "80-": True}, ["-40", "40-80", "80-"], ["-80"]
    )
    assert (done.sources, done.new) == (["-80"], [])
