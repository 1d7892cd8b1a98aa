"""The local cluster's tablet layout and the plan of a reshard: pure functions, no I/O.

A tablet's ports come from its uid (stack/vitess/env.sh): vttablet 16000+uid, gRPC 16500+uid,
MariaDB 17000+uid. Two uids collide when they differ by 500 or 1000 (uid 600's vttablet port is
uid 100's gRPC port), so every uid lives in [UID_MIN, UID_MAX], a window narrower than 500: there
the three port ranges are disjoint and clear of the fixed 15xxx ports. A shard gets a pair of uids
(primary u, replica u+1), u a multiple of 10; the original shards keep their historical uids, so a
merge back to -80,80- reuses 200/300 once the split has retired them.

The layout file (.data/vitess/tablets, read by env.sh) has the same lines as env.sh's TABLETS:
"uid keyspace shard role", each shard's primary before its replica.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sharding.vindex import KeyRange, validate_shards

UID_MIN, UID_MAX, UID_STEP = 100, 499, 10
FIXED_PORTS = range(15000, 16000)  # etcd, vtctld, vtgate, MariaDB, Redis, API, S3 ... (stack/env.sh)
PREFERRED_UIDS = {
    ("vidstore_lookup", "0"): 100,
    ("vidstore", "-80"): 200,
    ("vidstore", "80-"): 300,
    ("vidstore_idx", "-"): 400,
}


def ports(uid: int) -> tuple[int, int, int]:
    """(vttablet, gRPC, MariaDB) ports of a tablet, as env.sh computes them."""
    return 16000 + uid, 16500 + uid, 17000 + uid


@dataclass(frozen=True, slots=True)
class Tablet:
    uid: int
    keyspace: str
    shard: str
    role: str  # "primary" | "replica"

    def line(self) -> str:
        return f"{self.uid} {self.keyspace} {self.shard} {self.role}"


def parse_layout(text: str) -> list[Tablet]:
    tablets = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            uid, keyspace, shard, role = line.split()
            tablets.append(Tablet(int(uid), keyspace, shard, role))
    return tablets


def format_layout(tablets: Iterable[Tablet]) -> str:
    return "".join(t.line() + "\n" for t in tablets)


def shards_of(tablets: Iterable[Tablet], keyspace: str) -> list[str]:
    found = {t.shard for t in tablets if t.keyspace == keyspace}
    return sorted(found, key=_start)


def allocate(tablets: Sequence[Tablet], keyspace: str, shards: Sequence[str]) -> list[Tablet]:
    """Primary + replica tablets for new `shards`, on uid pairs no tablet in `tablets` uses."""
    taken = {t.uid for t in tablets}
    new: list[Tablet] = []
    for shard in shards:
        preferred = PREFERRED_UIDS.get((keyspace, shard))
        candidates = ([preferred] if preferred else []) + list(range(UID_MIN, UID_MAX, UID_STEP))
        uid = next((u for u in candidates if not {u, u + 1} & taken), None)
        if uid is None:
            raise ValueError(f"no free tablet uid pair left in {UID_MIN}..{UID_MAX}")
        taken |= {uid, uid + 1}
        new += [Tablet(uid, keyspace, shard, "primary"), Tablet(uid + 1, keyspace, shard, "replica")]
    return new


@dataclass(frozen=True, slots=True)
class Plan:
    keyspace: str
    current: list[str]  # the keyspace's serving shards now
    target: list[str]  # the layout asked for
    sources: list[str]  # current shards that go away
    new: list[str]  # target shards that do not exist yet

    @property
    def workflow(self) -> str:
        """Named after the target layout, so a rerun finds the same workflow ("-40" -> "x40")."""
        return "to_" + "_".join(s.replace("-", "x") for s in self.target)


def plan(keyspace: str, current: Sequence[str], target: Sequence[str]) -> Plan:
    """What a reshard from `current` to `target` moves: both must be complete, gap-free layouts;
    shards in both stay untouched (splitting one hot shard leaves the others alone)."""
    validate_shards(current)
    validate_shards(target)
    sources = [s for s in current if s not in target]
    new = [s for s in target if s not in current]
    if bool(sources) != bool(new):
        raise ValueError("sources and targets must both be non-empty")
    # The moved range must be the same on both sides (Vitess requires it of Reshard).
    if sources and _span(sources) != _span(new):
        raise ValueError(f"shards {sources} and {new} do not cover the same key range")
    return Plan(keyspace, list(current), list(target), sources, new)


def resume_plan(keyspace: str, shards: dict[str, bool], target: Sequence[str], old: Sequence[str]) -> Plan:
    """The plan as the topology shows it now (`shards`: name -> primary serving). Once writes are
    switched the target shards serve and the sources linger (not serving) until `complete`; after
    `complete` only `old` (the layout file's shards outside the target) are left to retire."""
    if not all(shards.get(s) for s in target):
        return plan(keyspace, sorted((s for s, serving in shards.items() if serving), key=_start), target)
    sources = sorted((s for s in shards if s not in target), key=_start)
    if not sources:
        return Plan(keyspace, list(target), list(target), sorted(set(old), key=_start), [])
    lo, hi = _span(sources)
    new = [s for s in target if _within(KeyRange.parse(s), lo, hi)]
    current = sorted([s for s in target if s not in new] + sources, key=_start)
    return Plan(keyspace, current, list(target), sources, new)


def _start(shard: str) -> bytes:
    return KeyRange.parse(shard).start


def _within(r: KeyRange, lo: bytes, hi: bytes) -> bool:
    return r.start >= lo and (not hi or (bool(r.end) and r.end <= hi))


def _span(shards: Sequence[str]) -> tuple[bytes, bytes]:
    ranges = sorted((KeyRange.parse(s) for s in shards), key=lambda r: r.start)
    for a, b in itertools.pairwise(ranges):
        if a.end != b.start:
            raise ValueError(f"shards {list(shards)} are not contiguous")
    return ranges[0].start, ranges[-1].end
