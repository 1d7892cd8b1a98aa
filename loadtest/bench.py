"""`make bench`: how fast, compared with what, from one run on one machine. The API runs under
granian on core 0 and wrk (a real HTTP load generator) on core 1, so figures are comparable side by
side; ratios matter more than absolutes on a noisy 2-core machine.

Measures: view ingest vs the same server's most trivial endpoint; buffered vs naive counting on a
hot video; flush throughput and statements per 10k views; get-video latency (cache hit vs miss,
vtgate vs MariaDB); and the physical references (redis-benchmark INCR, a bare ASGI app).
Writes .data/bench/result.json and result.md. `--seconds 1 --smoke` is the quick check make test runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from api.domain.views.buffer import ViewBuffer
from api.domain.views.flusher import Flusher
from api.settings import Settings
from api.state import AppState
from loadtest.seed import mark_ready
from loadtest.serving import granian, wait_until_ok

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".data" / "bench"
FAST = {  # what a capacity benchmark turns off: per-client limits and the viewer dedupe window
    "VIDSTORE_RATE_LIMIT_REQUESTS": "100000000",
    "VIDSTORE_VIEW_DEDUPE_SECONDS": "0",
    "VIDSTORE_MAX_IN_FLIGHT": "100000",
}


@contextmanager
def serve(target: str, env: dict[str, str] | None = None, factory: bool = True) -> Iterator[str]:
    """granian, one worker, pinned to core 0, with capacity-benchmark settings."""
    with granian(target, FAST | (env or {}), factory=factory, cpu=0, log_level="error") as url:
        yield url


def wrk(url: str, seconds: float, connections: int = 64, method: str = "GET") -> dict[str, float]:
    """wrk on core 1: requests/s and latency percentiles (ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "{method}"\n')
    args = [
        "taskset",
        "-c",
        "1",
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    done = subprocess.run([*args, "-s", script.name, url], capture_output=True, text=True, check=True)
    os.unlink(script.name)
    text = done.stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}  # type: ignore[union-attr]
    for q in ("50", "99"):
        value, unit = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        result[f"p{q}_ms"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    result["errors"] = float(non2xx.group(1)) if non2xx else 0.0
    return result


def ready_video(api: str, env: dict[str, str]) -> int:
    """A public, ready video made through the API (ready set as the worker would)."""
    key = httpx.post(f"{api}/v1/users", json={"name": "bench"}).json()["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    channel = httpx.post(f"{api}/v1/channels", json={"title": "bench"}, headers=auth).json()["channel_id"]
    body = {"title": "hot", "visibility": "public"}
    video_id = int(
        httpx.post(f"{api}/v1/channels/{channel}/videos", json=body, headers=auth).json()["video_id"]
    )

    settings = dataclasses.replace(
        Settings.from_env(),
        database_url=env.get("VIDSTORE_DATABASE_URL", os.environ["VIDSTORE_DATABASE_URL"]),
        replica_database_url=env.get("VIDSTORE_REPLICA_DATABASE_URL", os.environ["VIDSTORE_DATABASE_URL"]),
    )
    asyncio.run(mark_ready([video_id], settings))
    # The server's in-process cache may hold the draft for up to a second: wait until it is playable.
    wait_until_ok(f"{api}/v1/videos/{video_id}", None, "the ready video", seconds=10, status=200)
    return video_id


def redis_benchmark(pipeline: int) -> float:
    port = os.environ["VIDSTORE_REDIS_URL"].rsplit(":", 1)[1].split("/")[0]
    args = [
        "taskset",
        "-c",
        "1",
        "redis-benchmark",
        "-p",
        port,
        "-t",
        "incr",
        "-c",
        "50",
        "-n",
        "200000",
        "-q",
    ]
    done = subprocess.run([*args, "-P", str(pipeline)], capture_output=True, text=True, check=True)
    return float(re.search(r"([\d.]+) requests per second", done.stdout).group(1))  # type: ignore[union-attr]


async def flush_throughput(views: int, videos_n: int) -> dict[str, float]:
    """Fill the buffer with `views` over `videos_n` counters on 100 channels, then one flush pass."""
    state = AppState.create(Settings.from_env())
    buffer = ViewBuffer(state.redis, f"bench{time.time_ns()}")
    base = 3 * 10**12 + int(time.time())
    per_video = views // videos_n
    try:
        async with state.redis.pipeline(transaction=False) as pipe:
            for i in range(videos_n):
                pipe.hincrby(buffer.live, f"{base + i % 100}:{base + i}", per_video)
            pipe.set(buffer.live_total, per_video * videos_n)
            await pipe.execute()
        flusher = Flusher(state.db.primary, buffer, lease_seconds=60)
        started = time.perf_counter()
        report = await flusher.flush_once()
        took = time.perf_counter() - started
    finally:
        await state.close()
    assert report.failed == 0 and report.views == per_video * videos_n
    return {
        "views": report.views,
        "rows": report.rows,
        "seconds": round(took, 3),
        "views_per_s": round(report.views / took),
        "rows_per_s": round(report.rows / took),
        "statements": report.statements,
        "statements_per_10k_views": round(report.statements * 10_000 / report.views, 2),
    }


def vitess_env() -> dict[str, str] | None:
    """The API's environment for the local Vitess cluster, when it is up."""
    port = os.environ.get("VIDSTORE_VTGATE_MYSQL_PORT", "15307")
    vt = f"mysql+aiomysql://vidstore:{os.environ['VIDSTORE_DB_PASSWORD']}@127.0.0.1:{port}"
    try:
        httpx.get("http://127.0.0.1:15420/debug/status", timeout=1)
    except httpx.TransportError:
        return None
    return {
        "VIDSTORE_DATABASE_URL": f"{vt}/vidstore",
        "VIDSTORE_REPLICA_DATABASE_URL": f"{vt}/vidstore@replica",
    }


def run(seconds: float) -> dict[str, Any]:
    result: dict[str, Any] = {"seconds_per_run": seconds, "machine": f"{os.cpu_count()} cores"}
    backends: dict[str, dict[str, str]] = {"mariadb": {}}
    vt = vitess_env()
    if vt:
        backends["vitess"] = vt
    with serve("api.app:create_app") as api:
        video_id = ready_video(api, {})
        trivial = wrk(f"{api}/health/live", seconds)
        ingest = wrk(f"{api}/v1/videos/{video_id}/views", seconds, method="POST")
    with serve("api.app:create_app", {"VIDSTORE_VIEW_FAST_PATH": "0"}) as api:
        routed = wrk(f"{api}/v1/videos/{video_id}/views", seconds, method="POST")
    result["ingest"] = {
        "trivial": trivial,
        "views": ingest,
        "views_through_router": routed,
        "ratio": round(ingest["rps"] / trivial["rps"], 2),
        "fast_path_over_router": round(ingest["rps"] / routed["rps"], 1),
    }
    # One hot video, 256 concurrent clients: the Redis buffer against a row UPDATE per view.
    hot: dict[str, Any] = {}
    for backend, env in backends.items():
        with serve("api.app:create_app", env) as api:
            vid = ready_video(api, env)
            buffered = wrk(f"{api}/v1/videos/{vid}/views", seconds, connections=256, method="POST")
        with serve("api.app:create_app", env | {"VIDSTORE_VIEW_COUNTING": "naive"}) as api:
            naive = wrk(f"{api}/v1/videos/{vid}/views", seconds, connections=256, method="POST")
        hot[backend] = {
            "buffered": buffered,
            "naive": naive,
            "ratio": round(buffered["rps"] / naive["rps"], 1),
        }
    result["hot_video"] = hot
    result["flush"] = asyncio.run(flush_throughput(views=200_000, videos_n=20_000))
    latency: dict[str, Any] = {}
    for backend, env in backends.items():
        with serve("api.app:create_app", env) as api:
            vid = ready_video(api, env)
            latency[f"{backend} cache hit"] = wrk(f"{api}/v1/videos/{vid}", seconds, connections=8)
        with serve("api.app:create_app", env | {"VIDSTORE_VIDEO_CACHE_TTL_SECONDS": "0"}) as api:
            latency[f"{backend} cache miss"] = wrk(f"{api}/v1/videos/{vid}", seconds, connections=8)
    result["get_video"] = latency
    with serve("loadtest.bare:app", factory=False) as bare:
        bare_asgi = wrk(f"{bare}/", seconds)
    result["references"] = {
        "redis_incr_rps": redis_benchmark(1),
        "redis_incr_pipelined16_rps": redis_benchmark(16),
        "bare_asgi": bare_asgi,
        "views_vs_bare_asgi": round(ingest["rps"] / bare_asgi["rps"], 2),
    }
    return result


def markdown(r: dict[str, Any]) -> str:
    def fmt(x: float) -> str:
        return f"{x:,.0f}"

    rows = [
        "| measure | figure | ratio (target) |",
        "|---|---|---|",
        f"| view ingest, POST /v1/videos/{{id}}/views | {fmt(r['ingest']['views']['rps'])} req/s | "
        f"{r['ingest']['ratio']}x the trivial endpoint (>= 0.8) |",
        f"| trivial endpoint, GET /health/live | {fmt(r['ingest']['trivial']['rps'])} req/s | |",
        f"| view ingest through Litestar's router (`VIDSTORE_VIEW_FAST_PATH=0`) | "
        f"{fmt(r['ingest']['views_through_router']['rps'])} req/s | "
        f"the fast path serves {r['ingest']['fast_path_over_router']}x as many |",
    ]
    for backend, hot in r["hot_video"].items():
        rows += [
            f"| hot video, buffered counting, {backend} | {fmt(hot['buffered']['rps'])} req/s | "
            f"{hot['ratio']}x naive (>= 20) |",
            f"| hot video, naive UPDATE per view, {backend} | {fmt(hot['naive']['rps'])} req/s, "
            f"p99 {hot['naive']['p99_ms']:.0f} ms | |",
        ]
    rows += [
        f"| flush: {fmt(r['flush']['views'])} views over {fmt(r['flush']['rows'])} counters | "
        f"{fmt(r['flush']['views_per_s'])} views/s, {fmt(r['flush']['rows_per_s'])} rows/s | "
        f"{r['flush']['statements_per_10k_views']} statements per 10k views (>= 50,000 increments/s) |",
    ]
    for name, m in r["get_video"].items():
        latency = f"p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms"
        rows.append(f"| get video, {name} | {latency} | {fmt(m['rps'])} req/s |")
    ref = r["references"]
    rows += [
        f"| redis-benchmark INCR (-c 50) | {fmt(ref['redis_incr_rps'])} req/s | pipelined x16: "
        f"{fmt(ref['redis_incr_pipelined16_rps'])} |",
        f"| bare ASGI app, same server | {fmt(ref['bare_asgi']['rps'])} req/s | "
        f"views: {ref['views_vs_bare_asgi']}x |",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench")
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    result = run(args.seconds)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "result.json").write_text(json.dumps(result, indent=2))
    (OUT / "result.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
