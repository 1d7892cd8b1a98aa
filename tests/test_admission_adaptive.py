"""The adaptive admission limit (AIMD on latency): pure logic, samples fed by hand."""

from __future__ import annotations

from api.admission import AimdLimit


def test_the_limit_grows_while_latency_stays_near_the_fastest() -> None:
    limit = AimdLimit(initial=4, maximum=16)
    for _ in range(400):
        limit.observe(0.002)
    assert limit.limit == 16  # +1/limit per request: one per full window, up to the maximum


def test_queueing_latency_shrinks_it_once_per_window_not_per_request() -> None:
    limit = AimdLimit(initial=20, minimum=2, tolerance=2.0, backoff=0.5)
    for _ in range(100):
        limit.observe(0.002)  # the no-queue latency
    before = limit.limit
    limit.observe(0.010)  # 5x: queueing
    assert limit.limit == before * 0.5
    limit.observe(0.010)  # the same burst: no second cut before `limit` more requests
    assert limit.limit == before * 0.5
    for _ in range(200):
        limit.observe(0.010)
    assert limit.limit == 2  # never below the minimum


def test_it_forgets_an_old_fastest_after_two_windows() -> None:
    limit = AimdLimit(window=10)
    limit.observe(0.0001)
    for _ in range(25):
        limit.observe(0.005)
    assert limit.no_load() == 0.005
