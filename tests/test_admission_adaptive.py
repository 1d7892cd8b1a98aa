"""The adaptive admission limit (a latency gradient, as Netflix's Gradient2): pure logic, samples fed
by hand."""

from __future__ import annotations

from api.admission import GradientLimit


def test_the_limit_grows_while_latency_holds_steady() -> None:
    limit = GradientLimit(initial=4, maximum=16, window=10)
    for _ in range(400):
        limit.observe(0.002)
    assert limit.limit == 16


def test_queueing_latency_shrinks_it_window_by_window_down_to_the_minimum() -> None:
    limit = GradientLimit(initial=32, minimum=2, window=10)
    for _ in range(600):
        limit.observe(0.002)  # the usual latency
    before = limit.limit
    for _ in range(10):
        limit.observe(0.020)  # 10x: queueing
    assert limit.limit < before  # one window later
    for _ in range(300):
        limit.observe(0.020)
    assert limit.limit < before / 2 and limit.limit >= 2


def test_a_steady_mix_of_fast_and_slow_routes_is_not_queueing() -> None:
    limit = GradientLimit(initial=8, maximum=32, window=10)
    for i in range(2000):
        limit.observe(0.020 if i % 5 == 0 else 0.001)  # one slow write per four fast reads
    assert limit.limit >= 16, limit.limit
