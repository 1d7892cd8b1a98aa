"""Keyset pagination by id, newest first. The cursor is opaque to clients: base64url("v1:<last id>")."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec

from api.domain.errors import InvalidInput

T = TypeVar("T")

MAX_ID = 2**63 - 1


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id to continue below, or None for the first page; a malformed cursor is a 400."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    version, _, value = raw.partition(":")
    if version != "v1" or not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise InvalidInput("cursor", "not a cursor this API issued", source="query")
    return int(value)


def page_of(items: list[T], limit: int, key: Callable[[T], int]) -> Page[T]:
    """Build a page from up to limit+1 rows fetched: the extra row only says there is a next page."""
    if len(items) <= limit:
        return Page(items=items, next_cursor=None)
    kept = items[:limit]
    return Page(items=kept, next_cursor=encode_cursor(key(kept[-1])))
