"""The job queue's duplicates (real Redis): a second entry for work whose lease another delivery
holds is dropped, except for kinds that read their state when they run (sync_edges), which run
after the first. The interleaving is forced: the first delivery is held while the second is read."""

from __future__ import annotations

import uuid

from api.domain.jobs.queue import RUN_AFTER_DUPLICATES, Job, JobQueue
from tests.conftest import Api
from tests.live import eventually


async def test_a_state_sync_duplicate_runs_after_the_one_running_and_others_are_dropped(api: Api) -> None:
    queue = JobQueue(api.services.redis, f"test-dup-{uuid.uuid4().hex[:8]}", 5, 1.0)
    await queue.ensure_group()
    assert "sync_edges" in RUN_AFTER_DUPLICATES and "delete_blobs" not in RUN_AFTER_DUPLICATES
    for kind in ("sync_edges", "delete_blobs"):
        await queue.enqueue(kind, 7)
    held = [await queue.read("first", 100) for _ in range(2)]  # each delivery under its lease
    assert [job.kind for jobs in held for job in jobs] == ["sync_edges", "delete_blobs"]
    for kind in ("sync_edges", "delete_blobs"):  # a newer change's job, while the first runs
        await queue.enqueue(kind, 7)
    assert await queue.read("second", 100) == []  # sync_edges: its lease is held
    assert await queue.read("second", 100) == []  # delete_blobs: likewise
    delayed = await api.services.redis.zrange(queue.delayed, 0, -1)
    assert [Job.parse("", {b"job": d}).kind for d in delayed] == ["sync_edges"]  # the other dropped
    assert await api.services.redis.xlen(queue.stream) == 2  # only the two held entries remain
    for jobs in held:
        assert await queue.ack(jobs[0], "first")

    async def promoted() -> bool:
        return await queue.promote_due() == 1

    await eventually(promoted, 5, "the deferred sync_edges to come due")
    rerun = await queue.read("second", 100)
    assert [(job.kind, job.video_id) for job in rerun] == [("sync_edges", 7)]
    assert await queue.ack(rerun[0], "second")
    await api.services.redis.delete(queue.stream, queue.delayed, queue.dead)
