"""What a client sees of a primary switch, measured by the reshard command itself.

A `CutoverProbe` sends primary reads through vtgate, routed by the table's primary vindex into each
key range that moves, one every `every` seconds per range, from just before the switch until every
range has answered after it. vtgate buffers a primary-bound query during the switch whether it
reads or writes, so the longest gap between two answers in one range is the write pause a client of
that range sees; every failed query is an error a client would have seen.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pymysql

from sharding.vindex import KeyRange, keyspace_id

__all__ = ["CutoverProbe", "id_in", "probe_target"]


def id_in(shard: str) -> int:
    """The smallest positive integer whose xxhash keyspace id falls in the shard's key range."""
    key_range, value = KeyRange.parse(shard), 1
    while not key_range.contains(keyspace_id(value)):
        value += 1
    return value


def probe_target(vschema: dict[str, Any]) -> tuple[str, str] | None:
    """(table, column) of the first table whose primary vindex is xxhash, the one `id_in` inverts."""
    kinds = {name: v.get("type") for name, v in (vschema.get("vindexes") or {}).items()}
    for table, spec in sorted((vschema.get("tables") or {}).items()):
        first = (spec.get("column_vindexes") or [{}])[0]
        if kinds.get(first.get("name")) == "xxhash" and first.get("column"):
            return table, str(first["column"])
    return None


@dataclass
class CutoverProbe:
    host: str
    port: int
    password: str
    keyspace: str
    table: str
    column: str
    shards: list[str]
    every: float = 0.05
    answers: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _switched_at: float | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> CutoverProbe:
        for shard in self.shards:
            self.answers[shard] = []
            thread = threading.Thread(target=self._probe, args=(shard,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._switched_at = time.monotonic()
        for thread in self._threads:
            thread.join(timeout=60)

    def _done(self, shard: str) -> bool:
        """Done once the range answered after the switch returned (or a minute later, giving up)."""
        if self._switched_at is None:
            return False
        answered, switched = self.answers[shard], self._switched_at
        return bool(answered and answered[-1] > switched) or time.monotonic() > switched + 60

    def _probe(self, shard: str) -> None:
        statement = f"SELECT 1 FROM `{self.table}` WHERE `{self.column}` = %s"  # names from the VSchema
        value, conn = id_in(shard), None
        while not self._done(shard):
            try:
                if conn is None:
                    conn = pymysql.connect(
                        host=self.host, port=self.port, user="vidstore", password=self.password,
                        database=f"{self.keyspace}@primary", autocommit=True, read_timeout=60,
                    )  # fmt: skip
                with conn.cursor() as cur:
                    cur.execute(statement, (value,))
                    cur.fetchall()
                with self._lock:
                    self.answers[shard].append(time.monotonic())
            except pymysql.MySQLError as exc:
                with self._lock:
                    self.errors.append(f"{shard}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(self.every)
        if conn is not None:
            conn.close()

    def result(self) -> dict[str, Any]:
        gaps = {
            shard: max((b - a for a, b in itertools.pairwise(t)), default=0.0)
            for shard, t in self.answers.items()
        }
        return {
            "longest_pause_s": round(max(gaps.values(), default=0.0), 2),
            "pause_by_shard_s": {s: round(g, 2) for s, g in gaps.items()},
            "queries_answered": sum(len(t) for t in self.answers.values()),
            "errors": len(self.errors),
            "error_sample": self.errors[:5],
        }
