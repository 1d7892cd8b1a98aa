"""The project's clients honour shedding (loadtest/backoff.py): the rule itself, then the seeder and
a burst of clients against an API that admits one request at a time (503 + Retry-After)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from loadtest.backoff import MAX_WAIT, delay, send
from tests.conftest import BACKEND, report
from tests.live import api_server, seed


def test_the_rule() -> None:
    assert delay(200, {}, 1) is None and delay(404, {"Retry-After": "1"}, 1) is None
    assert 2 <= (delay(503, {"Retry-After": "2"}, 1) or 0) <= 2.2  # as asked, a little jitter
    assert delay(429, {"retry-after": "3600"}, 1) == MAX_WAIT  # capped
    for attempt in range(1, 8):  # no usable Retry-After: jittered exponential backoff, capped
        wait = delay(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, attempt)
        assert wait is not None and 0 <= wait <= min(0.25 * 2 ** (attempt - 1), MAX_WAIT)


@pytest.mark.skipif(BACKEND != "mariadb", reason="clients are tested once, in the MariaDB pass")
def test_clients_get_through_an_api_that_sheds(tmp_path: Path) -> None:
    with api_server({"VIDSTORE_MAX_IN_FLIGHT": "1"}) as api:
        shed = 0

        async def count(response: httpx.Response) -> None:
            nonlocal shed
            shed += response.status_code == 503

        async def burst() -> list[int]:
            async with httpx.AsyncClient(base_url=api, event_hooks={"response": [count]}) as client:
                answers = await asyncio.gather(
                    *(send(client, "POST", "/v1/users", json={"name": f"u{i}"}) for i in range(16))
                )
            return [a.status_code for a in answers]

        assert asyncio.run(burst()) == [201] * 16
        assert shed > 0, "the API shed nothing: the test proves nothing"
        report(f"16 concurrent clients, admission limit 1: all created after {shed} shed answers")

        seed_file = tmp_path / "seed.json"
        done = seed(api, seed_file, creators=4, videos=4, viewers=8)
        assert done.returncode == 0, done.stderr[-2000:]
        assert len(json.loads(seed_file.read_text())["videos"]) == 16
