"""The API retries what Vitess reports as safe to retry during a cutover, and nothing else (api/db.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from api import db


def vitess_error(message: str) -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception(1105, message))


def failing(error: DBAPIError, times: int) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A statement wrapped in retry_cutover that raises `error` its first `times` calls."""
    calls: list[int] = []

    @db.retry_cutover
    async def statement() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return statement, calls


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "RETRY_DELAYS", (0.0, 0.0, 0.0))


@pytest.mark.parametrize(
    "message",
    [
        "target: vidstore.-80.primary: primary is not serving, there may be a reparent operation in progress",
        "vtgate buffer: failover end not detected within 30s",
        "VT13001: [BUG] unexpected 'autocommitted' state in transaction",
    ],
)
async def test_cutover_errors_are_retried_until_they_pass(message: str) -> None:
    statement, calls = failing(vitess_error(message), times=2)
    assert await statement() == "done" and len(calls) == 3


async def test_other_errors_are_not_retried() -> None:
    duplicate = IntegrityError("INSERT ...", {}, Exception(1062, "Duplicate entry '1' for key 'PRIMARY'"))
    statement, calls = failing(duplicate, times=1)
    with pytest.raises(IntegrityError):
        await statement()
    assert len(calls) == 1
    assert not db.retryable(vitess_error("VT05003: unknown database 'x' in vschema"))


async def test_a_cutover_that_outlasts_the_retries_surfaces() -> None:
    statement, calls = failing(vitess_error("primary is not serving"), times=10)
    with pytest.raises(OperationalError):
        await statement()
    assert len(calls) == 4  # three retries (RETRY_DELAYS), then the error
