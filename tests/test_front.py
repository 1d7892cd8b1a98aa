"""The API's front door (stack/front/haproxy.cfg, real haproxy): it refuses with the API's own JSON
503 and Retry-After when every process is busy, instead of queueing; and the API believes the
client address it forwards, but not the same header from anyone else."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from loadtest.serving import front
from tests.conftest import BACKEND
from tests.live import api_server, busy_front

pytestmark = pytest.mark.skipif(BACKEND != "mariadb", reason="the front is the same on both backends")


def test_a_request_that_finds_every_process_busy_gets_a_json_503_not_a_queue() -> None:
    with busy_front() as busy:
        refused = httpx.get(f"{busy.url}/v1/videos/1", timeout=10)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/json"
        assert refused.headers["retry-after"] == "1"
        assert json.loads(refused.content) == {
            "status_code": 503,
            "detail": "no API process can take the request now, retry shortly",
        }
        seen = busy.upstream.seen
        assert "/v1/videos/1" not in {path for *_, path in seen}, "the refusal reached the upstream"

        assert busy.release().status_code == 200
        assert httpx.get(f"{busy.url}/v1/videos/1", timeout=10).status_code == 200  # room again
    # The front connects from its own address and says whom it forwards for.
    assert {peer for peer, _, _ in seen} == {"127.0.0.2"}
    assert {forwarded for _, forwarded, _ in seen} == {"127.0.0.1"}


def _status(url: str, source: str = "127.0.0.1", forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10) as client:
        return client.get(f"{url}/v1/videos/987654321", headers=headers).status_code


def test_the_api_takes_the_client_address_from_the_front_and_from_no_one_else() -> None:
    """Two requests per address per window: who is counted shows which address the API believed."""
    limits = {
        "VIDSTORE_RATE_LIMIT_REQUESTS": "2",
        "VIDSTORE_RATE_LIMIT_WINDOW_SECONDS": "3600",
        "VIDSTORE_TRUSTED_PROXIES": "127.0.0.2",
        # Windows of this test's own: other tests' hits from 127.0.0.1 are in the shared prefix.
        "VIDSTORE_REDIS_PREFIX": f"front-test-{uuid.uuid4().hex[:8]}",
    }
    with api_server(limits) as api, front(api) as url:
        # From the front's own address, the forwarded client is the one counted.
        assert [_status(api, "127.0.0.2", "198.51.100.1") for _ in range(3)] == [404, 404, 429]
        assert _status(api, "127.0.0.2", "198.51.100.2") == 404  # another client, a window of its own
        # Sent directly from elsewhere, the header is ignored: both hits count against 127.0.0.1...
        assert [_status(api, "127.0.0.1", f"198.51.100.{n}") for n in (3, 4)] == [404, 404]
        assert _status(api, "127.0.0.1") == 429
        # ...and through the front a client cannot borrow another's window either: haproxy appends
        # the address it saw (127.0.0.1, spent), and that is the one the API takes.
        assert _status(url, "127.0.0.1", "198.51.100.2") == 429
