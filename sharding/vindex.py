"""Vitess's `xxhash` vindex and key ranges, byte-exact with Vitess.

keyspace_id(v) = XXH64(seed 0) over the value's SQL text (an integer's decimal digits), as 8 bytes
little-endian. A shard named "40-80" holds keyspace ids k with 0x40 <= k < 0x80 (bytewise); an empty
side is unbounded, so "-" is the whole range (an unsharded database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import xxhash

T = TypeVar("T")


def keyspace_id(value: int) -> bytes:
    return xxhash.xxh64_intdigest(str(value).encode()).to_bytes(8, "little")


@dataclass(frozen=True, slots=True)
class KeyRange:
    start: bytes  # b"" = from the beginning
    end: bytes  # b"" = to the end

    @classmethod
    def parse(cls, shard: str) -> KeyRange:
        if shard in ("-", "0"):
            return cls(b"", b"")
        start, sep, end = shard.partition("-")
        if not sep:
            raise ValueError(f"not a key-range shard name: {shard!r}")
        try:
            return cls(bytes.fromhex(start), bytes.fromhex(end))
        except ValueError as exc:
            raise ValueError(f"not a key-range shard name: {shard!r}") from exc

    @property
    def name(self) -> str:
        return f"{self.start.hex()}-{self.end.hex()}"

    def contains(self, kid: bytes) -> bool:
        return (not self.start or kid >= self.start) and (not self.end or kid < self.end)


def validate_shards(shards: Sequence[str]) -> list[KeyRange]:
    """Key ranges sorted by start; they must cover the whole space with no gap or overlap."""
    ranges = sorted((KeyRange.parse(s) for s in shards), key=lambda r: r.start)
    if not ranges:
        raise ValueError("no shards")
    position = b""
    for index, r in enumerate(ranges):
        # Each range starts where the previous ended; nothing may follow one that ends the space.
        if r.start != position or (index and not position):
            raise ValueError(f"shards overlap or leave a gap at {position.hex() or 'start'}: {list(shards)}")
        position = r.end
    if position:
        raise ValueError(f"shards do not reach the end of the key space: {list(shards)}")
    return ranges


def shard_for(value: int, shards: Sequence[KeyRange]) -> str:
    kid = keyspace_id(value)
    for r in shards:
        if r.contains(kid):
            return r.name
    raise ValueError(f"no shard holds keyspace id {kid.hex()}")


def group_by_shard(
    items: Iterable[T], key: Callable[[T], int], shards: Sequence[KeyRange]
) -> dict[str, list[T]]:
    """Items grouped by the shard their routing value hashes to (so each group is one transaction)."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(shard_for(key(item), shards), []).append(item)
    return groups
