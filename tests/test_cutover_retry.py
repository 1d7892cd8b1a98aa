"""The API retries what Vitess reports as safe to retry during a cutover, and nothing else (api/db.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from api import db


def vitess_error(message: str) -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception(1105, message))


@pytest.mark.parametrize(
    "message",
    [
        "target: vidstore.-80.primary: primary is not serving, there may be a reparent operation in progress",
        "vtgate buffer: failover end not detected within 30s",
        "VT13001: [BUG] unexpected 'autocommitted' state in transaction",
    ],
)
async def test_cutover_errors_are_retried_until_they_pass(
    message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    calls = 0

    @db.retry_cutover
    async def insert() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise vitess_error(message)
        return "done"

    assert await insert() == "done" and calls == 3


async def test_other_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    calls = 0

    @db.retry_cutover
    async def insert() -> None:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT ...", {}, Exception(1062, "Duplicate entry '1' for key 'PRIMARY'"))

    with pytest.raises(IntegrityError):
        await insert()
    assert calls == 1
    assert not db.retryable(vitess_error("VT05003: unknown database 'x' in vschema"))


async def test_a_cutover_that_outlasts_the_retries_surfaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "RETRY_DELAYS", (0.0, 0.0))
    calls = 0

    @db.retry_cutover
    async def insert() -> None:
        nonlocal calls
        calls += 1
        raise vitess_error("primary is not serving")

    with pytest.raises(OperationalError):
        await insert()
    assert calls == 3
