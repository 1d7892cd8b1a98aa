"""`vidstore capacity`: assumptions (defaults, a YAML file, flags) and the capacities `make bench`
measured in, a plan out: printed as markdown, and written to .data/reports/ (capacity.md,
capacity.json and the two charts)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from capacity import inputs, report
from capacity.model import Assumptions

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".data" / "bench" / "result.json"
REPORTS = ROOT / ".data" / "reports"
# Scalar assumptions that get a flag of their own (the rest: --assumptions FILE).
FLAGS = {
    "dau": float,
    "actions_per_user_per_day": float,
    "views_per_user_per_day": float,
    "watch_minutes_per_user_per_day": float,
    "uploads_per_day": float,
    "peak_factor": float,
    "spike_factor": float,
    "cdn_hit_ratio": float,
    "cache_hit_ratio": float,
    "replicas_per_shard": int,
    "years": float,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--assumptions", type=Path, default=None, help="YAML file over the defaults")
    parser.add_argument(
        "--bench",
        type=Path,
        default=None,
        help=f"a `make bench` result (default: {BENCH.relative_to(ROOT)}, else the committed sample)",
    )
    parser.add_argument("--prices", type=Path, default=inputs.PRICES)
    parser.add_argument("--out", type=Path, default=REPORTS, help="where the reports and charts go")
    parser.add_argument("--no-charts", action="store_true")
    for name, kind in FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None)


def bench_path(given: Path | None) -> tuple[Path, str]:
    if given is not None:
        return given, str(given)
    if BENCH.exists():
        return BENCH, f"{BENCH.relative_to(ROOT)} (this clone's last `make bench`)"
    return inputs.SAMPLE_BENCH, (
        f"{inputs.SAMPLE_BENCH.relative_to(ROOT)}, a committed copy of a real `make bench` run "
        "(no .data/bench/result.json here yet: run `make bench` for this machine's own)"
    )


def run(args: argparse.Namespace) -> str:
    a: Assumptions = inputs.assumptions({k: getattr(args, k) for k in FLAGS}, args.assumptions)
    path, described = bench_path(args.bench)
    c = inputs.capacities(inputs.load_bench(path), described)
    p = inputs.prices(args.prices)
    text = report.markdown(a, c, p, inputs.price_sources(args.prices))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "capacity.md").write_text(text)
    data = report.plan(a, c, p) | {"sweep": report.sweep(a, c, p)}
    (args.out / "capacity.json").write_text(json.dumps(data, indent=2, default=str))
    if not args.no_charts:
        for chart in report.charts(data["sweep"], args.out):
            text += f"\nchart: {chart}"
    return text + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vidstore capacity", description=__doc__)
    add_arguments(parser)
    try:
        print(run(parser.parse_args(argv)), end="")
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise SystemExit(f"vidstore capacity: {exc}") from exc


if __name__ == "__main__":
    main()
