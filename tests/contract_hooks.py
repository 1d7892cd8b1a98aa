"""Schemathesis hooks for tests/test_contract.py (loaded through SCHEMATHESIS_HOOKS). They touch
schema-valid (positive) cases only; invalid ones are sent as generated and must be refused.

- A page cursor is opaque: the document can say it is a string of at most 64 characters, not that
  it must be one this API issued, so a random cursor is rightly a 400. It is replaced with one the
  API could have issued.
- Random ids rarely name anything, so every success path would go untested: ids are pointed at the
  channel and ready video the fuzzer's own user owns (VIDSTORE_FUZZ_IDS, "video_id=5,channel_id=3"),
  except for deletes, which would leave nothing to test."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

from api.pagination import MAX_ID, decode_cursor, encode_cursor

OWNED = {
    name: int(value)
    for name, _, value in (p.partition("=") for p in os.environ.get("VIDSTORE_FUZZ_IDS", "").split(","))
    if value
}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    cursor = (case.query or {}).get("cursor")
    if isinstance(cursor, str):
        try:
            decode_cursor(cursor)
        except Exception:
            case.query["cursor"] = encode_cursor(MAX_ID)
    if case.method.upper() != "DELETE":
        for name in (case.path_parameters or {}).keys() & OWNED.keys():
            case.path_parameters[name] = OWNED[name]
