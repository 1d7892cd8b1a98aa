"""Routing math for the `vidstore` keyspace: pure functions, no I/O."""

from sharding.vindex import KeyRange, group_by_shard, keyspace_id, shard_for, validate_shards

__all__ = ["KeyRange", "group_by_shard", "keyspace_id", "shard_for", "validate_shards"]
