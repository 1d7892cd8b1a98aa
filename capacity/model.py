"""The capacity model: assumptions about users in, load, storage, bandwidth, fleet and monthly cost out.

Pure functions over frozen dataclasses; nothing here reads files or the clock. Per-process
capacities (`Capacities`) come from the JSON `make bench` writes, prices (`Prices`) from the table
in capacity/prices.yaml. Rates are per second, sizes in bytes, money in USD per month.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

DAY = 86_400.0
HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = 30.4
GB = 1e9


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str
    height: int
    kbps: float
    watch_share: float  # share of watch time played at this rendition

    @property
    def megapixels(self) -> float:
        return self.height * self.height * 16 / 9 / 1e6


@dataclass(frozen=True, slots=True)
class Assumptions:
    dau: float = 100e6
    actions_per_user_per_day: float = 10
    action_mix: Mapping[str, float] = field(
        default_factory=lambda: {"get_video": 0.6, "feed": 0.3, "channel": 0.1}
    )
    views_per_user_per_day: float = 5
    watch_minutes_per_user_per_day: float = 30
    uploads_per_day: float = 300_000
    upload_minutes: float = 5
    source_kbps: float = 8000
    retention_original_days: float = 30
    cold_after_days: float | None = 90
    ladder: tuple[Rendition, ...] = (
        Rendition("360p", 360, 365, 0.15),
        Rendition("540p", 540, 2000, 0.25),
        Rendition("720p", 720, 3000, 0.35),
        Rendition("1080p", 1080, 6000, 0.25),
    )
    segment_seconds: float = 6
    peak_factor: float = 3
    spike_factor: float = 10
    cdn_hit_ratio: float = 0.95
    cache_hit_ratio: float = 0.95
    local_hit_ratio: float = 0.5
    replicas_per_shard: int = 2
    target_utilisation: float = 0.6
    shard_max_gb: float = 250
    years: float = 1
    new_users_per_day: float = 200_000
    subscriptions_per_new_user: float = 5
    row_bytes: Mapping[str, float] = field(
        default_factory=lambda: {"video": 1500, "user": 400, "channel": 500, "subscription": 100}
    )

    def __post_init__(self) -> None:
        problems = []
        if self.dau <= 0:
            problems.append("dau must be positive")
        if not math.isclose(sum(self.action_mix.values()), 1, abs_tol=1e-6):
            problems.append("action_mix must add up to 1")
        if self.ladder and not math.isclose(sum(r.watch_share for r in self.ladder), 1, abs_tol=1e-6):
            problems.append("the ladder's watch_share must add up to 1")
        for name in ("cdn_hit_ratio", "cache_hit_ratio", "local_hit_ratio"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be within 0..1")
        if not 0 < self.target_utilisation <= 1:
            problems.append("target_utilisation must be within (0, 1]")
        if self.replicas_per_shard < 0:
            problems.append("replicas_per_shard cannot be negative")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Capacities:
    """What one process (one core) sustains, measured by `make bench`."""

    view_rps: float  # POST views, fast path, dedupe on
    get_video_local_rps: float  # answered from the process's own cache
    get_video_redis_rps: float  # from Redis
    get_video_miss_rps: float  # lock, database read through vtgate, set
    vtgate_qps: float  # point selects one vtgate process routes
    shard_read_qps: float  # point selects one MariaDB answers
    shard_write_rows_per_s: float  # counter rows one primary takes from the flusher
    redis_ops_per_s: float  # commands one Redis answers (not pipelined)
    transcode_cpu_s_per_output_s_per_mpx: float  # ffmpeg x264 veryfast
    source: str = "unknown"


@dataclass(frozen=True, slots=True)
class Tier:
    up_to_gb: float | None
    price: float


@dataclass(frozen=True, slots=True)
class Prices:
    cdn_egress_tiers: tuple[Tier, ...]
    origin_get_per_1k: float
    storage_standard_per_gb_month: float
    storage_infrequent_per_gb_month: float
    vcpu_hour: float
    tablet_hour: float
    block_storage_per_gb_month: float
    redis_node_hour: float


# --- load -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    average: float
    peak: float
    spike: float


def _rate(per_day: float, a: Assumptions) -> Rate:
    avg = per_day / DAY
    return Rate(avg, avg * a.peak_factor, avg * a.spike_factor)


def request_rates(a: Assumptions) -> dict[str, Rate]:
    """Requests per second by class: metadata reads by the action mix, a playback URL and a view
    POST per view, the upload's two calls (presign, complete), and HLS segments at the CDN."""
    rates = {
        name: _rate(a.dau * a.actions_per_user_per_day * share, a) for name, share in a.action_mix.items()
    }
    views = a.dau * a.views_per_user_per_day
    rates["playback"] = _rate(views, a)
    rates["view"] = _rate(views, a)
    rates["upload"] = _rate(a.uploads_per_day * 2, a)
    rates["segment (CDN)"] = _rate(watch_seconds_per_day(a) / a.segment_seconds, a)
    return rates


def watch_seconds_per_day(a: Assumptions) -> float:
    return a.dau * a.watch_minutes_per_user_per_day * 60


# --- storage and bandwidth ------------------------------------------------------------------------


def metadata_per_year(a: Assumptions) -> dict[str, dict[str, float]]:
    """New rows and bytes (one copy, with indexes as the row sizes assume) per year, by table."""
    rows = {
        "video": a.uploads_per_day * 365,
        "user": a.new_users_per_day * 365,
        "channel": a.new_users_per_day * 365,
        "subscription": a.new_users_per_day * a.subscriptions_per_new_user * 365,
    }
    return {t: {"rows": n, "bytes": n * a.row_bytes[t]} for t, n in rows.items()}


def video_bytes_per_year(a: Assumptions) -> dict[str, float]:
    """Bytes stored per year by rendition (kept), and the originals (kept for the retention only:
    the figure is what they hold at any time)."""
    seconds_per_year = a.uploads_per_day * a.upload_minutes * 60 * 365
    out = {r.name: seconds_per_year * r.kbps * 1000 / 8 for r in a.ladder}
    out["original (retained)"] = (
        a.uploads_per_day * a.retention_original_days * a.upload_minutes * 60 * a.source_kbps * 1000 / 8
    )
    return out


def egress(a: Assumptions) -> dict[str, float]:
    """Bytes/day to viewers, and the bandwidth at average and peak (Gbit/s), total and from origin."""
    kbps = sum(r.kbps * r.watch_share for r in a.ladder)
    per_day = watch_seconds_per_day(a) * kbps * 1000 / 8
    gbps = per_day * 8 / DAY / 1e9
    return {
        "bytes_per_day": per_day,
        "average_gbps": gbps,
        "peak_gbps": gbps * a.peak_factor,
        "origin_peak_gbps": gbps * a.peak_factor * (1 - a.cdn_hit_ratio),
        "mean_kbps": kbps,
    }


# --- fleet ----------------------------------------------------------------------------------------


def _get_video_cost(a: Assumptions, c: Capacities) -> float:
    """Core-seconds per get-video request, by where it is answered."""
    local = a.cache_hit_ratio * a.local_hit_ratio
    redis = a.cache_hit_ratio - local
    miss = 1 - a.cache_hit_ratio
    return local / c.get_video_local_rps + redis / c.get_video_redis_rps + miss / c.get_video_miss_rps


def api_core_seconds(a: Assumptions, c: Capacities) -> dict[str, float]:
    """Core-seconds one request of each class costs. Measured: views and get-video (by cache
    layer). Feeds, channel pages and uploads read the database like a get-video miss, and a
    playback URL reads the cached video like a Redis hit: those two are stand-ins, labelled so."""
    return {
        "get_video": _get_video_cost(a, c),
        "feed": 1 / c.get_video_miss_rps,
        "channel": 1 / c.get_video_miss_rps,
        "playback": 1 / c.get_video_redis_rps,
        "view": 1 / c.view_rps,
        "upload": 1 / c.get_video_miss_rps,
    }


def database_queries(a: Assumptions, rates: Mapping[str, Rate], at: str) -> dict[str, float]:
    """Statements per second reaching vtgate at `at` ("average", "peak" or "spike"): reads (cache
    misses, feeds, channels, uploads) and writes (uploads, flushed counter rows, new users)."""

    def r(name: str) -> float:
        return float(getattr(rates[name], at)) if name in rates else 0.0

    reads = (
        r("get_video") * (1 - a.cache_hit_ratio)
        + r("playback") * (1 - a.cache_hit_ratio)
        + r("feed")
        + r("channel")
        + r("upload")
    )
    factor = {"average": 1.0, "peak": a.peak_factor, "spike": a.spike_factor}[at]
    # The flusher writes one row per video viewed in its interval: at most one per view, far fewer
    # for hot videos. Bounded here by the videos uploaded in the last year being watched daily.
    counter_rows = min(r("view"), a.uploads_per_day * 365 / DAY * factor)
    writes = (
        r("upload") + counter_rows + a.new_users_per_day * (2 + a.subscriptions_per_new_user) / DAY * factor
    )
    return {"reads": reads, "writes": writes}


@dataclass(frozen=True, slots=True)
class Fleet:
    api_processes: int
    vtgates: int
    shards: int
    tablets: int
    reads_per_shard: float
    writes_per_shard: float
    redis_nodes: int  # primaries and their replicas
    transcode_workers: int
    why_shards: str


def _ceil(x: float) -> int:
    return max(1, math.ceil(x - 1e-9))


def fleet(a: Assumptions, c: Capacities, at: str = "peak") -> Fleet:
    rates = request_rates(a)
    util = a.target_utilisation if at != "spike" else 1.0  # a spike may use everything
    cost = api_core_seconds(a, c)
    core_seconds = sum(float(getattr(rates[k], at)) * s for k, s in cost.items())
    db = database_queries(a, rates, at)
    vtgates = _ceil((db["reads"] + db["writes"]) / (c.vtgate_qps * util))
    # Shards: enough for the reads (spread over primary and replicas), the writes (primaries only)
    # and the data (each under shard_max_gb), rounded up to a power of two (even key ranges).
    meta = metadata_per_year(a)
    data_gb = sum(t["bytes"] for t in meta.values()) * a.years / GB
    need = {
        "reads": db["reads"] / (c.shard_read_qps * (1 + a.replicas_per_shard) * util),
        "writes": db["writes"] / (c.shard_write_rows_per_s * util),
        "data": data_gb / a.shard_max_gb,
    }
    why = max(need, key=lambda k: need[k])
    shards = 2 ** math.ceil(math.log2(_ceil(need[why])))
    # Redis: a view is one script call (batched with others), a non-local get-video one GET, and
    # a request's rate-limit hit rides with it; each primary gets one replica.
    redis_ops = (
        float(getattr(rates["view"], at))
        + float(getattr(rates["get_video"], at)) * (1 - a.cache_hit_ratio * a.local_hit_ratio)
        + float(getattr(rates["playback"], at))
    )
    redis_primaries = _ceil(redis_ops / (c.redis_ops_per_s * util))
    # Transcoding: uploads wait in a queue, so workers are sized for the daily average (the busiest
    # hour's surplus waits its turn), at the target utilisation.
    cpu_per_output_s = sum(c.transcode_cpu_s_per_output_s_per_mpx * r.megapixels for r in a.ladder)
    upload_seconds = a.uploads_per_day * a.upload_minutes * 60
    workers = _ceil(upload_seconds * cpu_per_output_s / DAY / a.target_utilisation)
    return Fleet(
        api_processes=_ceil(core_seconds / util),
        vtgates=vtgates,
        shards=shards,
        tablets=shards * (1 + a.replicas_per_shard),
        reads_per_shard=db["reads"] / shards,
        writes_per_shard=db["writes"] / shards,
        redis_nodes=redis_primaries * 2,
        transcode_workers=workers,
        why_shards=why,
    )


# --- cost -----------------------------------------------------------------------------------------


def tiered(gb: float, tiers: tuple[Tier, ...]) -> float:
    """The bill for `gb` in one month over graduated tiers."""
    total, below = 0.0, 0.0
    for tier in tiers:
        top = gb if tier.up_to_gb is None else min(gb, tier.up_to_gb)
        if top > below:
            total += (top - below) * tier.price
            below = top
        if tier.up_to_gb is None or gb <= tier.up_to_gb:
            break
    return total


def stored_video_gb(a: Assumptions) -> dict[str, float]:
    """Object storage held at the end of `years`: renditions split into the standard tier (the last
    cold_after_days) and the infrequent-access tier (older), plus the retained originals."""
    per_year = video_bytes_per_year(a)
    renditions = sum(v for k, v in per_year.items() if k != "original (retained)") * a.years / GB
    days = 365 * a.years
    hot_share = 1.0 if a.cold_after_days is None else min(1.0, a.cold_after_days / days)
    return {
        "standard": renditions * hot_share + per_year["original (retained)"] / GB,
        "infrequent": renditions * (1 - hot_share),
    }


def monthly_cost(a: Assumptions, c: Capacities, p: Prices) -> dict[str, float]:
    f = fleet(a, c)
    out = egress(a)
    segments_per_month = request_rates(a)["segment (CDN)"].average * DAY * DAYS_PER_MONTH
    stored = stored_video_gb(a)
    meta_gb = sum(t["bytes"] for t in metadata_per_year(a).values()) * a.years / GB
    return {
        "CDN egress": tiered(out["bytes_per_day"] * DAYS_PER_MONTH / GB, p.cdn_egress_tiers),
        "origin reads (CDN misses)": segments_per_month * (1 - a.cdn_hit_ratio) / 1000 * p.origin_get_per_1k,
        "video storage": stored["standard"] * p.storage_standard_per_gb_month
        + stored["infrequent"] * p.storage_infrequent_per_gb_month,
        "API processes": f.api_processes * p.vcpu_hour * HOURS_PER_MONTH,
        "vtgates": f.vtgates * p.vcpu_hour * HOURS_PER_MONTH,
        "tablets": f.tablets * (p.tablet_hour * HOURS_PER_MONTH)
        + meta_gb * (1 + a.replicas_per_shard) * p.block_storage_per_gb_month,
        "Redis": f.redis_nodes * p.redis_node_hour * HOURS_PER_MONTH,
        "transcoding": f.transcode_workers * p.vcpu_hour * HOURS_PER_MONTH,
    }


def levers(a: Assumptions, c: Capacities, p: Prices) -> dict[str, float]:
    """What each cost lever saves per month: the total without it minus the total with it, one
    lever at a time, everything else as assumed."""

    def total(x: Assumptions) -> float:
        return sum(monthly_cost(x, c, p).values())

    pairs: dict[str, tuple[Assumptions, Assumptions]] = {}  # name: (without the lever, with it)
    if a.cdn_hit_ratio < 0.99:
        pairs[f"CDN hit ratio {a.cdn_hit_ratio:g} -> 0.99"] = (a, dataclasses.replace(a, cdn_hit_ratio=0.99))
    cold = a.cold_after_days if a.cold_after_days is not None else 90
    pairs[f"storage tier: renditions to infrequent access after {cold:g} days"] = (
        dataclasses.replace(a, cold_after_days=None),
        dataclasses.replace(a, cold_after_days=cold),
    )
    if a.replicas_per_shard > 1:
        pairs[f"replicas per shard {a.replicas_per_shard} -> 1"] = (
            a,
            dataclasses.replace(a, replicas_per_shard=1),
        )
    if len(a.ladder) > 1:
        # The top rendition's viewers watch the next one down instead.
        top = max(a.ladder, key=lambda r: r.height)
        below = [r for r in a.ladder if r is not top]
        second = max(below, key=lambda r: r.height)
        ladder = tuple(
            dataclasses.replace(r, watch_share=r.watch_share + top.watch_share) if r is second else r
            for r in below
        )
        pairs[f"ladder without {top.name}"] = (a, dataclasses.replace(a, ladder=ladder))
    return {name: total(without) - total(with_) for name, (without, with_) in pairs.items()}
