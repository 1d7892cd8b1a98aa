"""Open-loop load with vegeta (requests at a fixed arrival rate, whatever the latency, so a slow
server cannot slow the load down and hide its queue). Two uses:

    python -m loadtest.openloop spike [--rate 50 --factor 10 --seconds 10]
        a warm-up (discarded), a warm steady phase, a step to `factor` x the rate, the rate again:
        p50/p99/p99.9 of all requests and of admitted ones, shed rate (429/503), other errors, and
        the time to recover after the step; then a "level" phase at the rate the step admitted,
        constant from its start (the same load without the step); then the same phases through the
        stack's front (stack/front/haproxy.cfg), which sheds before the process; then the same
        steady rate and step against the bare ASGI app on the same server and core (the machine's
        own floor for that ratio).
    python -m loadtest.openloop model-check [--bench .data/bench/result.json]
        one API process driven at the rate the capacity model says it sustains (its measured
        capacity x the model's target utilisation, and at 100%): achieved rate and p99.

Both start their own API process (granian, one worker pinned to core 0, the stack's settings and
backend: VIDSTORE_BACKEND=vitess after `make run VITESS=1`), seed a few hundred ready videos, and
run vegeta (stack/vegeta-build.sh builds it) on core 1. Reports go to .data/loadtest/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from loadtest.bench import DATA, ready_videos, vitess_env
from loadtest.serving import front, granian

OUT = DATA / "loadtest"
SHED = {429, 503}
Runs = dict[str, tuple[float, list[dict[str, Any]]]]  # phase name -> (offered rate, vegeta's results)
# Per-client limits are for clients; vegeta is one client sending everyone's load.
SERVE_ENV = {"VIDSTORE_RATE_LIMIT_REQUESTS": "100000000"}


def vegeta_bin() -> str:
    done = subprocess.run(
        ["bash", "-c", 'source stack/versions.sh && bash stack/vegeta-build.sh >&2 && echo "$VEGETA_BIN"'],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@contextmanager
def api(env: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    backend = vitess_env() if os.environ.get("VIDSTORE_BACKEND") == "vitess" else {}
    if os.environ.get("VIDSTORE_BACKEND") == "vitess" and not backend:
        raise SystemExit("VIDSTORE_BACKEND=vitess but vtgate is not up (make vitess-up)")
    backend = backend or {}
    with granian(env=SERVE_ENV | backend | (env or {}), cpu=0, log_level="error") as url:
        yield url, backend


def targets(lines: list[str]) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".targets", delete=False) as f:
        f.write("\n\n".join(lines) + "\n\n")
    return Path(f.name)


def get_video_targets(url: str, ids: list[int], n: int = 5000) -> Path:
    """GET /v1/videos/{id}, ids drawn by a Zipf law (a few hot videos, a long tail)."""
    rng = random.Random(3)
    weights = [1 / (k + 1) for k in range(len(ids))]
    return targets([f"GET {url}/v1/videos/{v}" for v in rng.choices(ids, weights, k=n)])


def view_targets(url: str, video_id: int, n: int = 20000) -> Path:
    """POST views by distinct anonymous viewers (a User-Agent each), so each is counted."""
    nonce = random.randrange(10**9)
    return targets([f"POST {url}/v1/videos/{video_id}/views\nUser-Agent: v{nonce}-{i}" for i in range(n)])


def attack(vegeta: str, target_file: Path, rate: float, seconds: float) -> list[dict[str, Any]]:
    """One fixed-rate attack; each result as (start s since epoch, latency ms, status)."""
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as out:
        pass
    try:
        args = ["taskset", "-c", "1", vegeta, "attack", f"-targets={target_file}", f"-rate={round(rate)}/1s"]
        args += [f"-duration={seconds}s", "-timeout=10s", f"-output={out.name}", "-keepalive=true"]
        subprocess.run(args, check=True)
        encoded = subprocess.run(
            [vegeta, "encode", "-to", "json", out.name], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(out.name)
    results = []
    for line in encoded.splitlines():
        r = json.loads(line)
        results.append({"t": _epoch(r["timestamp"]), "ms": r["latency"] / 1e6, "code": int(r["code"])})
    return results


def _epoch(stamp: str) -> float:
    from datetime import datetime

    # vegeta writes RFC 3339 with nanoseconds; Python keeps microseconds.
    head, _, rest = stamp.partition(".")
    frac = "".join(ch for ch in rest if ch.isdigit())[:6]
    zone = rest[len("".join(ch for ch in rest if ch.isdigit())) :]
    return datetime.fromisoformat(f"{head}.{frac or '0'}{zone.replace('Z', '+00:00')}").timestamp()


def percentiles(ms: list[float]) -> dict[str, float | None]:
    if not ms:
        return {"p50_ms": None, "p99_ms": None, "p99_9_ms": None}
    if len(ms) < 2:
        return {"p50_ms": ms[0], "p99_ms": ms[0], "p99_9_ms": ms[0]}
    q = statistics.quantiles(ms, n=1000, method="inclusive")
    return {"p50_ms": round(q[499], 2), "p99_ms": round(q[989], 2), "p99_9_ms": round(q[998], 2)}


def phase(results: list[dict[str, Any]], rate: float, seconds: float) -> dict[str, Any]:
    admitted = [r["ms"] for r in results if 200 <= r["code"] < 300]
    shed = sum(1 for r in results if r["code"] in SHED)
    other = sum(1 for r in results if not (200 <= r["code"] < 300) and r["code"] not in SHED)
    span = (max(r["t"] for r in results) - min(r["t"] for r in results)) if len(results) > 1 else seconds
    return {
        "offered_rate": rate,
        "achieved_rate": round(len(results) / max(span, 1e-9), 1),
        "admitted_rate": round(len(admitted) / max(span, 1e-9), 1),
        "requests": len(results),
        "all": percentiles([r["ms"] for r in results]),
        "admitted": percentiles(admitted),
        "shed": shed,
        "shed_rate": round(shed / max(len(results), 1), 4),
        "other_errors": other,
        "codes": {str(c): n for c, n in sorted(Counter(r["code"] for r in results).items())},
    }


def recovery_seconds(after: list[dict[str, Any]], warm_p99: float, bound: float = 2.0) -> float | None:
    """Seconds from the end of the step until a whole second of requests has no shedding and an
    admitted p99 within `bound` x the warm steady p99 (None: not within the phase)."""
    if not after:
        return None
    start = min(r["t"] for r in after)
    buckets: dict[int, list[dict[str, Any]]] = {}
    for r in after:
        buckets.setdefault(int(r["t"] - start), []).append(r)
    for second in sorted(buckets):
        rs = buckets[second]
        ok = [r["ms"] for r in rs if 200 <= r["code"] < 300]
        p99 = percentiles(ok)["p99_ms"]
        if len(ok) == len(rs) and p99 is not None and p99 <= bound * warm_p99:
            return float(second)
    return None


def spike(rate: float, factor: float, seconds: float, warmup: float, env: dict[str, str]) -> dict[str, Any]:
    vegeta = vegeta_bin()
    with api(env) as (url, backend):
        ids = ready_videos(url, backend, 300, concurrency=4)
        file = get_video_targets(url, ids)
        try:
            runs = stepped(vegeta, file, rate, factor, seconds, warmup)
            phases = phases_of(runs, seconds)
            # The step's own cost, apart from the load it leaves: the same process held at the rate
            # it admitted during the step, arriving at that rate from the start (no step).
            level = phases["spike"]["admitted_rate"]
            drained(url)
            phases["level"] = phase(attack(vegeta, file, level, seconds), level, seconds)
        finally:
            file.unlink()
        # The same process and step through the stack's front, which sheds before Python does
        # (stack/front/haproxy.cfg: 4 at once for one worker, 1 ms queue), on the process's core.
        drained(url)
        with front(url, maxconn=4, cpu=0) as fronted:
            file = get_video_targets(fronted, ids)
            try:
                front_runs = stepped(vegeta, file, rate, factor, seconds, warmup)
            finally:
                file.unlink()
    warm = phases["steady"]["admitted"]["p99_ms"] or 0.0
    front_phases = phases_of(front_runs, seconds)
    floor = machine_floor(vegeta, rate, factor, seconds, warmup)
    return {
        "what": f"GET /v1/videos/{{id}} (Zipf over 300 videos), open loop, {rate:g}/s -> {rate * factor:g}/s",
        "backend": "vitess" if backend else "mariadb",
        "admission": env.get("VIDSTORE_ADMISSION", "fixed")
        + f", max in flight {env.get('VIDSTORE_MAX_IN_FLIGHT', 'default')}",
        "phases": phases,
        "admitted_p99_spike_over_steady": p99_ratio(phases, "admitted"),
        "admitted_p99_spike_over_level": p99_ratio(phases, "admitted", over="level"),
        "recovery_seconds": recovery_seconds(runs["after"][1], warm),
        "other_errors": sum(p["other_errors"] for p in [*phases.values(), *front_phases.values()]),
        "front": {
            "what": "the same steps through stack/front/haproxy.cfg (maxconn 4, queue 1 ms), same process",
            "phases": front_phases,
            "admitted_p99_spike_over_steady": p99_ratio(front_phases, "admitted"),
            "recovery_seconds": recovery_seconds(
                front_runs["after"][1], front_phases["steady"]["admitted"]["p99_ms"] or 0.0
            ),
        },
        "machine_floor": floor,
    }


def machine_floor(vegeta: str, rate: float, factor: float, seconds: float, warmup: float) -> dict[str, Any]:
    """The same arrivals against the barest ASGI app (loadtest/bare.py) on the same server and core:
    what the generator, the kernel and granian alone add to the p99 when the rate steps up here, with
    the server far below its capacity. A ratio the API cannot beat on this machine."""
    with granian("loadtest.bare:app", factory=False, cpu=0, log_level="error") as url:
        file = targets([f"GET {url}/"])
        try:
            runs = stepped(vegeta, file, rate, factor, seconds, warmup, after=False)
        finally:
            file.unlink()
    phases = phases_of(runs, seconds)
    return {
        "what": f"GET / of the bare ASGI app, same server and core, {rate:g}/s -> {rate * factor:g}/s",
        **phases,
        "p99_spike_over_steady": p99_ratio(phases, "all"),
    }


def stepped(
    vegeta: str, file: Path, rate: float, factor: float, seconds: float, warmup: float, after: bool = True
) -> Runs:
    """A warm-up at `rate` (cold caches and first connections: not measured), then `seconds` at
    `rate` (steady), at `rate * factor` (spike) and, with `after`, at `rate` again: each phase's
    rate and results."""
    attack(vegeta, file, rate, warmup)
    rates = {"steady": rate, "spike": rate * factor} | ({"after": rate} if after else {})
    return {name: (r, attack(vegeta, file, r, seconds)) for name, r in rates.items()}


def phases_of(runs: Runs, seconds: float) -> dict[str, dict[str, Any]]:
    return {name: phase(results, r, seconds) for name, (r, results) in runs.items()}


def p99_ratio(phases: dict[str, dict[str, Any]], requests: str, over: str = "steady") -> float | None:
    """The spike phase's p99 over phase `over`'s, of `requests` ("all" or "admitted")."""
    warm = phases[over][requests]["p99_ms"] or 0.0
    spiked = phases["spike"][requests]["p99_ms"] or 0.0
    return round(spiked / warm, 2) if warm else None


def drained(url: str, seconds: float = 60) -> None:
    """Until the process answers its liveness probe within 50 ms: a backlog from the previous step
    must not count against the next."""
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            with contextlib.suppress(httpx.TransportError):
                client.get(f"{url}/health/live")
                if time.perf_counter() - started < 0.05:
                    return
            time.sleep(0.2)


def model_check(bench: Path, seconds: float, utilisation: float) -> dict[str, Any]:
    """Views and get-video (a hot video: the in-process cache) at the rate the model takes one
    process to sustain: the bench's measured capacity x `utilisation`, and at 100%."""
    data = json.loads(bench.read_text())
    inputs = data["capacity_inputs"]
    vegeta = vegeta_bin()
    out: dict[str, Any] = {"bench": str(bench), "bench_date": data["meta"]["date"], "checks": []}
    with api() as (url, backend):
        ids = ready_videos(url, backend, 1, concurrency=4)
        files = {
            "get_video_local_rps": targets([f"GET {url}/v1/videos/{ids[0]}"]),
            "view_rps": view_targets(url, ids[0]),
        }
        try:
            for key, file in files.items():
                capacity = float(inputs[key]["median"])
                attack(vegeta, file, capacity * utilisation, 2)  # warm-up
                for share in (utilisation, 1.0):
                    predicted = capacity * share
                    drained(url)
                    got = phase(attack(vegeta, file, predicted, seconds), predicted, seconds)
                    out["checks"].append(
                        {
                            "class": key,
                            "share_of_measured_capacity": share,
                            "predicted_sustainable_rate": round(predicted, 1),
                            "achieved_rate": got["achieved_rate"],
                            "admitted_rate": got["admitted_rate"],
                            "achieved_over_predicted": round(got["admitted_rate"] / predicted, 3),
                            "p50_ms": got["admitted"]["p50_ms"],
                            "p99_ms": got["admitted"]["p99_ms"],
                            "errors": got["shed"] + got["other_errors"],
                            "codes": got["codes"],
                        }
                    )
        finally:
            for file in files.values():
                file.unlink()
    out["backend"] = "vitess" if backend else "mariadb"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.openloop")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("spike")
    s.add_argument("--rate", type=float, default=50)
    s.add_argument("--factor", type=float, default=10)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--warmup", type=float, default=5)
    s.add_argument("--max-in-flight", default=None, help="admission limit of the API process")
    s.add_argument("--admission", default=None, help="fixed or adaptive (VIDSTORE_ADMISSION)")
    m = sub.add_parser("model-check")
    m.add_argument("--bench", type=Path, default=DATA / "bench" / "result.json")
    m.add_argument("--seconds", type=float, default=8)
    m.add_argument("--utilisation", type=float, default=0.6)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.command == "spike":
        env = {}
        if args.max_in_flight:
            env["VIDSTORE_MAX_IN_FLIGHT"] = args.max_in_flight
        if args.admission:
            env["VIDSTORE_ADMISSION"] = args.admission
        result = spike(args.rate, args.factor, args.seconds, args.warmup, env)
        (OUT / "openloop-spike.json").write_text(json.dumps(result, indent=2))
    else:
        result = model_check(args.bench, args.seconds, args.utilisation)
        (OUT / "model-check.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
