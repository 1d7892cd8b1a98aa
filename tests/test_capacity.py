"""The capacity model's arithmetic (pure functions), its input files, and the command end to end on
the committed bench sample."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path

import pytest

from capacity import cli, inputs, model, report
from capacity.model import Assumptions, Capacities, Prices, Rendition, Tier

CAP = Capacities(
    view_rps=10_000,
    get_video_local_rps=4_000,
    get_video_redis_rps=2_000,
    get_video_miss_rps=500,
    vtgate_qps=5_000,
    shard_read_qps=10_000,
    shard_write_rows_per_s=20_000,
    redis_ops_per_s=80_000,
    transcode_cpu_s_per_output_s_per_mpx=1.0,
    source="test",
)
FLAT = Prices(
    cdn_egress_tiers=(Tier(None, 0.01),),
    origin_get_per_1k=0.0004,
    storage_standard_per_gb_month=0.02,
    storage_infrequent_per_gb_month=0.01,
    vcpu_hour=0.04,
    tablet_hour=0.25,
    block_storage_per_gb_month=0.08,
    redis_node_hour=0.12,
)


def test_request_rates_follow_the_design_question() -> None:
    a = Assumptions()  # 100M DAU, 10 actions, 5 views, peak 3x, spike 10x
    rates = model.request_rates(a)
    assert rates["get_video"].average == pytest.approx(100e6 * 10 * 0.6 / 86_400)
    assert rates["view"].average == pytest.approx(100e6 * 5 / 86_400)  # ~5,787/s
    assert rates["view"].peak == pytest.approx(3 * rates["view"].average)
    assert rates["view"].spike == pytest.approx(10 * rates["view"].average)
    # 30 minutes a day in 6 s segments
    assert rates["segment (CDN)"].average == pytest.approx(100e6 * 30 * 60 / 6 / 86_400)


def test_storage_per_rendition_and_retained_originals() -> None:
    a = Assumptions(uploads_per_day=1000, upload_minutes=1, ladder=(Rendition("x", 720, 8000, 1.0),))
    stored = model.video_bytes_per_year(a)
    assert stored["x"] == pytest.approx(1000 * 60 * 365 * 1e6)  # 8000 kb/s = 1 MB/s
    assert stored["original (retained)"] == pytest.approx(1000 * 30 * 60 * 1e6)  # 30 days of 8 Mb/s


def test_egress_is_watch_time_times_the_mean_bitrate() -> None:
    a = Assumptions(dau=1e6, watch_minutes_per_user_per_day=10, cdn_hit_ratio=0.9)
    out = model.egress(a)
    mean_kbps = 365 * 0.15 + 2000 * 0.25 + 3000 * 0.35 + 6000 * 0.25
    assert out["mean_kbps"] == pytest.approx(mean_kbps)
    assert out["bytes_per_day"] == pytest.approx(1e6 * 600 * mean_kbps * 125)
    assert out["origin_peak_gbps"] == pytest.approx(out["peak_gbps"] * 0.1)


def test_fleet_grows_with_load_and_shards_are_a_power_of_two() -> None:
    small = model.fleet(Assumptions(dau=1e6, uploads_per_day=3000), CAP)
    big = model.fleet(Assumptions(dau=1e9, uploads_per_day=3e6), CAP)
    assert big.api_processes > small.api_processes * 100
    assert big.vtgates > small.vtgates and big.transcode_workers > small.transcode_workers
    for f in (small, big):
        assert f.shards & (f.shards - 1) == 0
        assert f.tablets == f.shards * 3
        assert f.redis_nodes % 2 == 0


def test_api_processes_are_the_sum_of_core_seconds_over_utilisation() -> None:
    a = Assumptions()
    rates = model.request_rates(a)
    cost = model.api_core_seconds(a, CAP)
    expected = sum(rates[k].peak * s for k, s in cost.items()) / a.target_utilisation
    assert model.fleet(a, CAP).api_processes == math.ceil(expected)
    # Get-video: half the cached answers in-process, half from Redis, 5% misses.
    assert cost["get_video"] == pytest.approx(0.475 / 4000 + 0.475 / 2000 + 0.05 / 500)


def test_a_spike_needs_more_than_the_peak() -> None:
    a = Assumptions()
    assert model.fleet(a, CAP, "spike").api_processes > model.fleet(a, CAP, "peak").api_processes


def test_tiered_price_is_graduated() -> None:
    tiers = (Tier(10, 1.0), Tier(20, 0.5), Tier(None, 0.1))
    assert model.tiered(5, tiers) == pytest.approx(5)
    assert model.tiered(15, tiers) == pytest.approx(10 + 2.5)
    assert model.tiered(120, tiers) == pytest.approx(10 + 5 + 10)


def test_each_lever_saves_money() -> None:
    saved = model.levers(Assumptions(), CAP, FLAT)
    assert set(saved) == {
        "CDN hit ratio 0.95 -> 0.99",
        "storage tier: renditions to infrequent access after 90 days",
        "replicas per shard 2 -> 1",
        "ladder without 1080p",
    }
    assert all(v > 0 for v in saved.values()), saved


def test_cost_items_are_positive_and_egress_dominates_at_scale() -> None:
    cost = model.monthly_cost(Assumptions(), CAP, FLAT)
    assert all(v > 0 for v in cost.values()), cost
    assert max(cost, key=lambda k: cost[k]) == "CDN egress"


def test_bad_assumptions_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cdn_hit_ratio"):
        Assumptions(cdn_hit_ratio=1.5)
    with pytest.raises(ValueError, match="action_mix"):
        Assumptions(action_mix={"get_video": 0.5})
    f = tmp_path / "a.yaml"
    f.write_text("dau: 5\nnot_a_thing: 1\n")
    with pytest.raises(ValueError, match="not_a_thing"):
        inputs.assumptions(path=f)


def test_yaml_then_flags_over_the_defaults(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(
        "dau: 5000000\npeak_factor: 2\nladder:\n  - {name: a, height: 480, kbps: 1000, watch_share: 1}\n"
    )
    a = inputs.assumptions({"peak_factor": 4, "spike_factor": None}, f)
    assert (a.dau, a.peak_factor, a.spike_factor) == (5e6, 4, 10)
    assert a.ladder == (Rendition("a", 480, 1000, 1),)


def test_the_committed_defaults_file_is_the_models_defaults() -> None:
    assert inputs.assumptions(path=inputs.ASSUMPTIONS) == Assumptions()


def test_every_price_has_a_source_and_date() -> None:
    sources = inputs.price_sources()
    assert {f.name for f in dataclasses.fields(Prices)} - {"cdn_egress_tiers"} <= set(sources)
    assert all(s["source"].startswith("https://") and s["date"] for s in sources.values())
    assert inputs.prices().cdn_egress_tiers[0].price == 0.085


def test_capacities_come_from_the_bench_json_and_name_it() -> None:
    bench = {
        "meta": {"date": "d", "machine": "m"},
        "capacity_inputs": {
            f.name: {"median": 1.0, "min": 1, "max": 1}
            for f in dataclasses.fields(Capacities)
            if f.name != "source"
        },
    }
    c = inputs.capacities(bench, "x.json")
    assert c.view_rps == 1.0 and "x.json" in c.source and "d" in c.source
    del bench["capacity_inputs"]["vtgate_qps"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="vtgate_qps"):
        inputs.capacities(bench, "x.json")


def test_the_sweep_covers_1m_to_1b() -> None:
    points = report.sweep(Assumptions(), CAP, FLAT)
    assert points[0]["dau"] == 10**6 and points[-1]["dau"] == 10**9
    totals = [sum(p["cost"].values()) for p in points]
    assert totals == sorted(totals)


def test_the_command_writes_every_figure_and_both_charts(tmp_path: Path) -> None:
    """On the committed sample of a real bench run (what a fresh clone has)."""
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--bench", str(inputs.SAMPLE_BENCH), "--out", str(tmp_path), "--dau", "1e8"])
    text = cli.run(args)
    for heading in ("Requests per second", "Storage and bandwidth", "Fleet", "Monthly cost", "cost lever"):
        assert heading in text
    data = json.loads((tmp_path / "capacity.json").read_text())
    assert {
        "qps",
        "metadata_per_year",
        "video_bytes_per_year",
        "egress",
        "fleet",
        "monthly_cost",
        "levers",
    } <= set(data)
    for png in ("capacity-fleet.png", "capacity-cost.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(text)
