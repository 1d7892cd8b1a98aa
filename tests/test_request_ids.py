"""Request ids: taken from X-Request-ID (or set), returned to the client, stamped on JSON log lines,
and carried into the jobs a request enqueues (api/logs.py)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, cast

import pytest

from api.domain.jobs.queue import Job
from api.logs import JsonFormatter
from tests.conftest import Api


async def test_a_request_id_is_taken_or_set_and_returned(api: Api) -> None:
    owner = await api.user()
    video = await api.video(owner, await api.channel(owner))
    for method, path in (("GET", f"/v1/videos/{video}"), ("POST", f"/v1/videos/{video}/views")):
        given = await api.client.request(method, path, headers={"X-Request-ID": "checkout-7.a:b_c"})
        assert given.headers["x-request-id"] == "checkout-7.a:b_c", (method, path)
    fresh = [(await api.client.get(f"/v1/videos/{video}")).headers["x-request-id"] for _ in range(2)]
    assert all(re.fullmatch("[0-9a-f]{32}", r) for r in fresh) and fresh[0] != fresh[1]
    for bad in ("x" * 129, "a b", "<script>"):  # never echoed or logged: replaced
        answer = await api.client.get(f"/v1/videos/{video}", headers={"X-Request-ID": bad})
        assert re.fullmatch("[0-9a-f]{32}", answer.headers["x-request-id"]), bad
    missing = await api.client.get("/v1/videos/999999999", headers={"X-Request-ID": "lost-1"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "lost-1"


async def test_the_api_and_the_worker_log_a_requests_jobs_with_its_id(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await api.user()
    video = await api.video(owner, await api.channel(owner))
    with caplog.at_level(logging.INFO, logger="vidstore.jobs"):
        headers = owner.auth | {"X-Request-ID": "del-42"}
        deleted = await api.client.delete(f"/v1/videos/{video}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    enqueued = [r for r in caplog.records if r.name == "vidstore.jobs" and "enqueued" in r.getMessage()]
    line = json.loads(JsonFormatter("api").format(enqueued[-1]))
    assert line["request_id"] == "del-42" and line["service"] == "api" and line["video_id"] == video, line
    # redis-py types XRANGE's reply as optional (entries and fields both): it is always a list
    entries = cast(
        "list[tuple[bytes, dict[Any, Any]]]", await api.services.redis.xrange(api.services.jobs.stream)
    )
    jobs = [Job.parse(entry_id, fields) for entry_id, fields in entries]
    job = next(j for j in jobs if j.video_id == video and j.kind == "delete_blobs")
    assert job.request_id == "del-42"
    with caplog.at_level(logging.INFO, logger="vidstore.worker"):
        await api.services.worker("request-id-test").handle(job)
    done = [r for r in caplog.records if r.name == "vidstore.worker" and "done" in r.getMessage()]
    assert done, caplog.text
    line = json.loads(JsonFormatter("worker").format(done[-1]))
    assert line["request_id"] == "del-42" and line["service"] == "worker", line
    assert line["job"] == "delete_blobs" and line["video_id"] == video and line["level"] == "info", line
