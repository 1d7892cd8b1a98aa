"""Small helpers shared by the repositories (which own all SQL)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec


def changed_fields(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually set (UNSET ones left out)."""
    return {
        field: value
        for field in patch.__struct_fields__
        if (value := getattr(patch, field)) is not msgspec.UNSET
    }


def set_clause(fields: Mapping[str, Any], allowed: frozenset[str]) -> str:
    """`a = :a, b = :b` for column names from a fixed allow-list; values stay bound parameters."""
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    return ", ".join(f"{column} = :{column}" for column in fields)


def columns(row: Any) -> dict[str, Any]:
    """A row's columns by name, its DATETIMEs marked as UTC (what the servers store), so the API
    answers RFC 3339 timestamps with their offset (`...Z`) instead of naive ones."""
    return {
        name: value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value
        for name, value in row._asdict().items()
    }
