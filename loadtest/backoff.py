"""How every client the project ships answers shedding: a 429 or 503 is retried after the server's
`Retry-After` (seconds, capped), or with capped exponential backoff and jitter when it sends none,
a bounded number of times; after the last attempt the shed answer is returned to the caller.

    async with httpx.AsyncClient(...) as client:
        response = await send(client, "POST", "/v1/users", json={"name": "x"})

`delay` is the rule alone, for clients with their own loop (locust's users sleep it, counting the
shed request; a synchronous client or the benchmark can loop over it the same way).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import httpx

SHED = (429, 503)
ATTEMPTS = 6  # 1 try + 5 retries
MAX_WAIT = 10.0  # seconds: never sleep longer than this for one retry, whatever Retry-After says
BASE = 0.25  # first backoff when the server gives no Retry-After


def delay(status: int, headers: Mapping[str, str], attempt: int, max_wait: float = MAX_WAIT) -> float | None:
    """Seconds to wait before retry number `attempt` (1, 2, ...) of an answer, or None when the
    answer is not shedding (no retry). Retry-After as a number of seconds is honoured (capped);
    otherwise (absent, or an HTTP date) exponential backoff with full jitter."""
    if status not in SHED:
        return None
    raw = headers.get("retry-after") or headers.get("Retry-After")
    try:
        asked = float(raw) if raw is not None else None
    except ValueError:
        asked = None
    if asked is not None and asked >= 0:
        return min(asked + random.uniform(0, 0.1 * max(asked, 1.0)), max_wait)  # spread the herd
    return random.uniform(0, min(BASE * 2 ** (attempt - 1), max_wait))


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    attempts: int = ATTEMPTS,
    max_wait: float = MAX_WAIT,
    **kwargs: Any,
) -> httpx.Response:
    """`client.request(...)`, retried while it is shed (at most `attempts` tries)."""
    for attempt in range(1, attempts + 1):
        response = await client.request(method, url, **kwargs)
        wait = delay(response.status_code, response.headers, attempt, max_wait)
        if wait is None or attempt == attempts:
            return response
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")
