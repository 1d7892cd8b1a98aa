"""The plan as text (markdown tables) and as charts (fleet and monthly cost against DAU)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from capacity import model
from capacity.model import Assumptions, Capacities, Prices

DAU_SWEEP = tuple(int(10**e) for e in (6, 6.5, 7, 7.5, 8, 8.5, 9))


def _n(x: float) -> str:
    if isinstance(x, int) or x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:,.1f}"
    return f"{x:.3g}"


def _bytes(x: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if x >= size:
            return f"{x / size:,.1f} {unit}"
    return f"{x:,.0f} B"


def plan(a: Assumptions, c: Capacities, p: Prices) -> dict[str, Any]:
    """Every figure of the plan, as plain data (the JSON the command writes)."""
    rates = model.request_rates(a)
    return {
        "assumptions": {
            k: (list(map(dataclasses.asdict, v)) if k == "ladder" else v)
            for k, v in dataclasses.asdict(a).items()
            if k != "ladder"
        }
        | {"ladder": [dataclasses.asdict(r) for r in a.ladder]},
        "capacities": dataclasses.asdict(c),
        "qps": {k: dataclasses.asdict(v) for k, v in rates.items()},
        "database_statements_per_s": {
            at: model.database_queries(a, rates, at) for at in ("average", "peak", "spike")
        },
        "metadata_per_year": model.metadata_per_year(a),
        "video_bytes_per_year": model.video_bytes_per_year(a),
        "egress": model.egress(a),
        "fleet": {at: dataclasses.asdict(model.fleet(a, c, at)) for at in ("peak", "spike")},
        "monthly_cost": model.monthly_cost(a, c, p),
        "levers": model.levers(a, c, p),
    }


def markdown(a: Assumptions, c: Capacities, p: Prices, sources: Mapping[str, Mapping[str, str]]) -> str:
    pl = plan(a, c, p)
    lines = [
        f"# Capacity plan: {a.dau:,.0f} DAU",
        "",
        f"Per-process capacities from {c.source}.",
        "",
        "## Requests per second",
        "",
        "| class | average | peak | spike |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {_n(r['average'])} | {_n(r['peak'])} | {_n(r['spike'])} |" for k, r in pl["qps"].items()
    ]
    db = pl["database_statements_per_s"]
    lines += [
        "",
        "Database statements per second (through vtgate): "
        + "; ".join(f"{at} {_n(v['reads'])} reads, {_n(v['writes'])} writes" for at, v in db.items()),
        "",
        "## Storage and bandwidth",
        "",
        "| metadata table | rows per year | bytes per year (one copy) |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {_n(v['rows'])} | {_bytes(v['bytes'])} |" for t, v in pl["metadata_per_year"].items()]
    lines += ["", "| video | bytes stored per year |", "|---|---|"]
    lines += [f"| {k} | {_bytes(v)} |" for k, v in pl["video_bytes_per_year"].items()]
    e = pl["egress"]
    lines += [
        "",
        f"Egress: {_bytes(e['bytes_per_day'])}/day at a mean {e['mean_kbps']:,.0f} kb/s; "
        f"{e['average_gbps']:,.0f} Gbit/s average, {e['peak_gbps']:,.0f} Gbit/s peak, "
        f"{e['origin_peak_gbps']:,.0f} Gbit/s from origin at peak (CDN hit ratio {a.cdn_hit_ratio:g}).",
        "",
        "## Fleet",
        "",
        "| | at peak (utilisation "
        + f"{a.target_utilisation:g}) | for a {a.spike_factor:g}x spike (all of it) |",
        "|---|---|---|",
    ]
    peak, spike = pl["fleet"]["peak"], pl["fleet"]["spike"]
    for key, label in (
        ("api_processes", "API processes (one core each)"),
        ("vtgates", "vtgates"),
        ("shards", "shards"),
        ("tablets", f"tablets (primary + {a.replicas_per_shard} replicas per shard)"),
        ("reads_per_shard", "reads per shard (/s)"),
        ("writes_per_shard", "writes per shard (/s)"),
        ("redis_nodes", "Redis nodes (primaries + replicas)"),
        ("transcode_workers", "transcoding workers (one core each)"),
    ):
        lines.append(f"| {label} | {_n(peak[key])} | {_n(spike[key])} |")
    lines += [
        "",
        f"Shards are set by their {peak['why_shards']} at peak (rounded up to a power of two).",
        "",
        "## Monthly cost (USD)",
        "",
        "| item | per month |",
        "|---|---|",
    ]
    cost = pl["monthly_cost"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in cost.items()]
    lines += [f"| **total** | **{sum(cost.values()):,.0f}** |", "", "| cost lever | saves per month |"]
    lines += ["|---|---|"] + [f"| {k} | {v:,.0f} |" for k, v in pl["levers"].items()]
    lines += ["", "Prices (capacity/prices.yaml):", ""]
    lines += [f"- {k}: {s['unit']}, {s['source']}, {s['date']} ({s['status']})" for k, s in sources.items()]
    return "\n".join(lines) + "\n"


def sweep(
    a: Assumptions, c: Capacities, p: Prices, daus: tuple[int, ...] = DAU_SWEEP
) -> list[dict[str, Any]]:
    """Fleet and monthly cost at each DAU, everything else as assumed (uploads and new users scale)."""
    out = []
    for dau in daus:
        scale = dau / a.dau
        x = dataclasses.replace(
            a,
            dau=dau,
            uploads_per_day=a.uploads_per_day * scale,
            new_users_per_day=a.new_users_per_day * scale,
        )
        out.append(
            {"dau": dau, "fleet": dataclasses.asdict(model.fleet(x, c)), "cost": model.monthly_cost(x, c, p)}
        )
    return out


def charts(points: list[dict[str, Any]], out: Path) -> list[Path]:
    """Two PNGs: fleet size and monthly cost (total and by item) against DAU, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    daus = [pt["dau"] for pt in points]
    written = []
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, label in (
        ("api_processes", "API processes"),
        ("vtgates", "vtgates"),
        ("tablets", "tablets"),
        ("shards", "shards"),
        ("redis_nodes", "Redis nodes"),
        ("transcode_workers", "transcoding workers"),
    ):
        ax.plot(daus, [pt["fleet"][key] for pt in points], marker="o", label=label)
    ax.set(xscale="log", yscale="log", xlabel="daily active users", ylabel="processes / nodes")
    ax.set_title("vidstore fleet at peak against DAU")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    path = out / "capacity-fleet.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(path)

    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(daus, [sum(pt["cost"].values()) for pt in points], "k-", marker="o", linewidth=2, label="total")
    for item in points[0]["cost"]:
        ax.plot(daus, [pt["cost"][item] for pt in points], marker=".", label=item)
    ax.set(xscale="log", yscale="log", xlabel="daily active users", ylabel="USD per month")
    ax.set_title("vidstore monthly cost against DAU, by item")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    path = out / "capacity-cost.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    written.append(path)
    return written
