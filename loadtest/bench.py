"""`make bench`: how fast, compared with what equal work, with the spread of several runs.

Every figure is the median of `--runs` runs with their min and max; the measurements a ratio
compares are taken interleaved in the same round (A, B, A, B ... with the order rotated), against
servers that all stay up, so drift on this shared machine hits both sides. Ratios are computed run
by run, then summarised. The API runs under granian with one worker pinned to core 0; wrk, mysqlslap
and redis-benchmark run on core 1. Every response must be 2xx: any other status or socket error
makes the run fail (the counts are in the JSON).

Equal-work references:
- a view POST against the bare ASGI app on the same server (no framework) and GET /health/live;
- with VIDSTORE_BENCH_BEFORE=<checkout of an earlier commit>, the view route against that
  commit's, side by side (both one Redis call per view);
- views with the production dedupe window (30 s) and distinct viewers, and without dedupe;
- the hot video's buffered counting against a row UPDATE per view with
  innodb_flush_log_at_trx_commit=1 and =2 (the buffer acknowledges after Redis's everysec fsync);
- flush in rows/s and views/s over a Zipf distribution of views per row;
- get-video by where it is answered: the process's cache, Redis, a real miss (lock, database read
  through vtgate/MariaDB, set), each checked against the server's own cache counters; uncached
  get-video on one connection against the same point select sent straight to vtgate.

Writes .data/bench/result.json (with `capacity_inputs`, what `vidstore capacity` reads) and
result.md. `--seconds 1 --runs 1` is the smoke check make test runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pymysql
import redis

from api import storage
from api.domain.views.buffer import ViewBuffer
from api.domain.views.flusher import Flusher
from api.settings import Settings
from api.wiring import Services
from loadtest.serving import granian, wait_until_ok

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("VIDSTORE_DATA", ROOT / ".data"))
OUT = DATA / "bench"
CONTENTION = (
    "measured on a shared 2-core machine while other sessions ran: absolute figures are noisy, "
    "compare the interleaved ratios"
)
# What the capacity benchmark relaxes: per-client limits (one client sends everything) and admission
# control (wrk's connections are the load). The view dedupe window stays as in production.
BENCH_ENV = {
    "VIDSTORE_RATE_LIMIT_REQUESTS": "100000000",
    "VIDSTORE_MAX_IN_FLIGHT": "100000",
    "VIDSTORE_VIDEO_CACHE_TTL_SECONDS": "600",  # Redis entries outlive the run (the hits it measures)
}
WRK_CORE, SERVER_CORE = "1", 0

Measure = Callable[[], dict[str, float]]


# --- statistics -----------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "runs": [round(v, 3) for v in values],
    }


def interleaved(measures: dict[str, Measure], runs: int) -> dict[str, list[dict[str, float]]]:
    """Each measure once per round, the order rotated each round; all results by name."""
    names = list(measures)
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            results[name].append(measures[name]())
    return results


def figure(results: list[dict[str, float]], **labels: Any) -> dict[str, Any]:
    """Median and spread of every key the runs share; errors are summed, never summarised away."""
    out: dict[str, Any] = dict(labels)
    for key in results[0]:
        values = [r[key] for r in results]
        out[key] = sum(values) if key in ("non2xx", "socket_errors") else summary(values)
    return out


def ratio(
    a: list[dict[str, float]], b: list[dict[str, float]], key: str = "rps", **labels: Any
) -> dict[str, Any]:
    """a/b run by run (the pairs measured in the same round); a round where b served nothing is
    left out and counted."""
    pairs = [(x[key], y[key]) for x, y in zip(a, b, strict=True)]
    values = [x / y for x, y in pairs if y > 0]
    empty = len(pairs) - len(values)
    return {**labels, **(summary(values) if values else {"median": 0.0, "min": 0.0, "max": 0.0})} | (
        {"rounds_left_out": empty} if empty else {}
    )


def warm(urls: list[str], method: str = "GET", requests: int = 30) -> None:
    """A few requests to each server before it is measured (first-request costs are not its rate)."""
    with httpx.Client(timeout=30) as client:
        for url in urls:
            for _ in range(requests):
                client.request(method, url)


# --- load generators ------------------------------------------------------------------------------


def _lua(method: str, ids_file: Path | None, suffix: str, distinct_viewers: bool) -> str:
    """A wrk script: the path rotates over the ids in `ids_file`; with distinct_viewers every request
    has a User-Agent of its own (an anonymous viewer is its address and user agent)."""
    nonce = f"{time.time_ns() % 10**9}"
    lines = [f'wrk.method = "{method}"', "local n = 0", "local ids = {}"]
    if ids_file is not None:
        lines.append(f'for line in io.lines("{ids_file}") do ids[#ids + 1] = line end')
    lines += [
        "request = function()",
        "  n = n + 1",
        "  local path = wrk.path",
        f'  if #ids > 0 then path = "/v1/videos/" .. ids[((n - 1) % #ids) + 1] .. "{suffix}" end',
        f'  local headers = {{["User-Agent"] = "bench{nonce}-" .. n}}'
        if distinct_viewers
        else "  local headers = {}",
        f'  return wrk.format("{method}", path, headers)',
        "end",
    ]
    return "\n".join(lines) + "\n"


def wrk(
    url: str,
    seconds: float,
    connections: int = 64,
    method: str = "GET",
    ids_file: Path | None = None,
    suffix: str = "",
    distinct_viewers: bool = False,
) -> dict[str, float]:
    """wrk (closed loop) on its own core: requests/s, latency percentiles (ms), non-2xx, socket errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(method, ids_file, suffix, distinct_viewers))
    args = ["taskset", "-c", WRK_CORE, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    args += ["--timeout", "10s", "--latency", "-s", script.name, url]
    try:
        text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    result = {"rps": float(_search(r"Requests/sec:\s+([\d.]+)", text))}
    for q in ("50", "99"):
        value, unit = re.search(rf"\s{q}(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", text).groups()  # type: ignore[union-attr]
        result[f"p{q}_ms"] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    result["requests"] = float(_search(r"(\d+) requests in", text))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    result["non2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["socket_errors"] = float(sum(map(int, sockets.groups()))) if sockets else 0.0
    return result


def _search(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"no {pattern!r} in:\n{text}"
    return found.group(1)


def mysqlslap(port: int, database: str, query: str, concurrency: int, queries: int) -> dict[str, float]:
    """The same SQL sent straight to a server by mysqlslap (C client) on its own core: queries/s and
    the mean latency per query on one connection's share."""
    args = ["taskset", "-c", WRK_CORE, "mysqlslap", "--no-defaults", "-h127.0.0.1", f"-P{port}"]
    args += ["-uvidstore", f"-p{os.environ['VIDSTORE_DB_PASSWORD']}", f"--create-schema={database}"]
    args += [f"--query={query}", f"--concurrency={concurrency}", f"--number-of-queries={queries}"]
    args += ["--iterations=1"]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    seconds = float(_search(r"Average number of seconds to run all queries: ([\d.]+)", text))
    seconds = max(seconds, 0.001)
    return {"qps": queries / seconds, "mean_ms": seconds * 1000 * concurrency / queries}


def redis_benchmark(pipeline: int) -> float:
    port = os.environ["VIDSTORE_REDIS_URL"].rsplit(":", 1)[1].split("/")[0]
    args = ["taskset", "-c", WRK_CORE, "redis-benchmark", "-p", port, "-t", "incr", "-c", "50"]
    args += ["-n", "200000", "-q", "-P", str(pipeline)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(_search(r"([\d.]+) requests per second", done.stdout))


# --- servers and data -----------------------------------------------------------------------------


@contextmanager
def serve(
    target: str = "api.app:create_app",
    env: dict[str, str] | None = None,
    factory: bool = True,
    cwd: Path | None = None,
) -> Iterator[str]:
    """granian, one worker, pinned to the server core, with the benchmark's settings."""
    # Startup waits long: on a shared machine one pinned core imports the app slowly.
    env = BENCH_ENV | (env or {})
    with granian(
        target, env, factory=factory, cpu=SERVER_CORE, log_level="error", startup_seconds=120, cwd=cwd
    ) as u:
        yield u


def backend_settings(env: dict[str, str]) -> Settings:
    url = env.get("VIDSTORE_DATABASE_URL", os.environ["VIDSTORE_DATABASE_URL"])
    return dataclasses.replace(
        Settings.from_env(),
        database_url=url,
        replica_database_url=env.get("VIDSTORE_REPLICA_DATABASE_URL", url),
        video_cache_ttl_seconds=int(BENCH_ENV["VIDSTORE_VIDEO_CACHE_TTL_SECONDS"]),
    )


async def _ready_videos(api: str, env: dict[str, str], count: int, concurrency: int) -> list[int]:
    """`count` public, ready videos made through the API (ready set as the worker would: that also
    puts them in the Redis cache)."""
    async with httpx.AsyncClient(base_url=api, timeout=30, limits=httpx.Limits(max_connections=16)) as client:
        key = (await client.post("/v1/users", json={"name": "bench"})).json()["api_key"]
        auth = {"Authorization": f"Bearer {key}"}
        channel = (await client.post("/v1/channels", json={"title": "bench"}, headers=auth)).json()[
            "channel_id"
        ]
        body = {"title": "bench", "visibility": "public"}
        sem = asyncio.Semaphore(concurrency)

        async def one() -> int:
            async with sem:
                made = await client.post(f"/v1/channels/{channel}/videos", json=body, headers=auth)
                assert made.status_code == 201, made.text
                return int(made.json()["video_id"])

        ids = list(await asyncio.gather(*(one() for _ in range(count))))
    async with Services.opened(backend_settings(env)) as services:

        async def ready(video_id: int) -> None:
            async with sem:
                fields = {
                    "status": "ready",
                    "duration_ms": 60_000,
                    "manifest_key": storage.manifest_key(video_id),
                }
                assert await services.videos.set_fields_by_id(video_id, fields) is not None

        await asyncio.gather(*(ready(v) for v in ids))
    return ids


def ready_videos(api: str, env: dict[str, str], count: int, concurrency: int = 16) -> list[int]:
    """Below a server's admission limit, `concurrency` requests at a time."""
    ids = asyncio.run(_ready_videos(api, env, count, concurrency))
    # A server's in-process cache may hold the draft for up to a second: wait until it is playable.
    wait_until_ok(f"{api}/v1/videos/{ids[-1]}", None, "the ready video", seconds=10, status=200)
    return ids


def forget_in_redis(ids: list[int]) -> None:
    """Drop the videos' Redis cache entries: their next read is a real miss."""
    client = redis.Redis.from_url(os.environ["VIDSTORE_REDIS_URL"])
    prefix = os.environ.get("VIDSTORE_REDIS_PREFIX", "vidstore")
    for i in range(0, len(ids), 1000):
        client.delete(*(f"{prefix}:video:{v}" for v in ids[i : i + 1000]))
    client.close()


def cache_counts(api: str) -> dict[str, float]:
    """The server's own count of video lookups by result (vidstore_video_cache_total)."""
    text = httpx.get(f"{api}/metrics").text
    found = re.findall(r'^vidstore_video_cache_total\{result="(\w+)"\} ([\d.e+]+)$', text, re.M)
    return {k: float(v) for k, v in found}


def ids_file(ids: list[int]) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as f:
        f.write("\n".join(map(str, ids)) + "\n")
    return Path(f.name)


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


def sql_port(env: dict[str, str]) -> int:
    url = env.get("VIDSTORE_DATABASE_URL", os.environ["VIDSTORE_DATABASE_URL"])
    return int(_search(r"@[^:/]+:(\d+)/", url))


def primaries_sockets(backend: str) -> list[Path]:
    """The MariaDB servers that take the backend's writes (for innodb_flush_log_at_trx_commit)."""
    if backend == "mariadb":
        return [DATA / "run" / "mariadb.sock"]
    return [DATA / "vitess" / f"mysql-{uid}" / "mysql.sock" for uid in (100, 200, 300)]


def set_flush_log(backend: str, value: int) -> None:
    for sock in primaries_sockets(backend):
        sql = f"SET GLOBAL innodb_flush_log_at_trx_commit = {value}"
        subprocess.run(["mariadb", "--no-defaults", f"--socket={sock}", "-uroot", "-e", sql], check=True)


@contextmanager
def flush_log(backend: str, value: int) -> Iterator[None]:
    set_flush_log(backend, value)
    try:
        yield
    finally:
        set_flush_log(backend, 1)


# --- the measurements -----------------------------------------------------------------------------


def ingest(seconds: float, runs: int) -> dict[str, Any]:
    """Views against the bare app and the trivial endpoint; with VIDSTORE_BENCH_BEFORE (a checkout
    of an earlier commit), the view route side by side with that commit's, serving the same work:
    one Redis script call per view (rate-limit hit, dedupe, buffer), the same checks and answer."""
    before = os.environ.get("VIDSTORE_BENCH_BEFORE")
    with ExitStack() as stack:
        api = stack.enter_context(serve())
        nodedupe = stack.enter_context(serve(env={"VIDSTORE_VIEW_DEDUPE_SECONDS": "0"}))
        bare = stack.enter_context(serve("loadtest.bare:app", factory=False))
        earlier = None
        if before:
            earlier = stack.enter_context(serve(env={"PYTHONPATH": before}, cwd=Path(before)))
        vid = ready_videos(api, {}, 1)[0]
        path = f"/v1/videos/{vid}/views"
        warm([f"{bare}/", f"{api}/health/live"])
        warm([base + path for base in (api, nodedupe, earlier) if base], "POST")

        def views(base: str) -> Measure:
            return lambda: wrk(base + path, seconds, method="POST", distinct_viewers=True)

        measures = {
            "bare": lambda: wrk(f"{bare}/", seconds),
            "trivial": lambda: wrk(f"{api}/health/live", seconds),
            "views": views(api),
            "views_nodedupe": views(nodedupe),
        }
        if earlier:
            measures["views_before"] = views(earlier)
        r = interleaved(measures, runs)
    figures = {
        "bare": figure(r["bare"], what="bare ASGI app, same server (GET /)"),
        "trivial": figure(r["trivial"], what="GET /health/live (through Litestar)"),
        "views": figure(r["views"], what="POST view, dedupe 30 s, distinct viewers"),
        "views_nodedupe": figure(r["views_nodedupe"], what="POST view, dedupe OFF"),
    }
    ratios = {
        "views_over_bare": ratio(r["views"], r["bare"], of="views", over="bare ASGI app"),
        "views_over_trivial": ratio(r["views"], r["trivial"], of="views", over="GET /health/live"),
        "dedupe_on_over_off": ratio(r["views"], r["views_nodedupe"], of="dedupe on", over="dedupe off"),
    }
    if earlier:
        label = f"POST view as served by {_commit(Path(before or '.'))}, same work"
        figures["views_before"] = figure(r["views_before"], what=label)
        ratios["views_over_before"] = ratio(r["views"], r["views_before"], of="views", over=label)
    return {"figures": figures, "ratios": ratios}


def _commit(checkout: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h"], capture_output=True, text=True
    )
    return f"commit {done.stdout.strip() or checkout}"


def hot_video(backend: str, env: dict[str, str], seconds: float, runs: int) -> dict[str, Any]:
    """One video, 256 connections: the buffer against a row update per view (fsync per commit, and
    the log flushed once a second like Redis's everysec)."""
    with serve(env=env) as api, serve("loadtest.benchapp:row_per_view", env) as naive:
        vid = ready_videos(api, env, 1)[0]
        path = f"/v1/videos/{vid}/views"
        warm([api + path, naive + path], "POST")

        def naive_at(value: int) -> dict[str, float]:
            with flush_log(backend, value):
                return wrk(naive + path, seconds, connections=256, method="POST")

        r = interleaved(
            {
                "buffered": lambda: wrk(
                    api + path, seconds, connections=256, method="POST", distinct_viewers=True
                ),
                "naive_fsync": lambda: naive_at(1),
                "naive_flush2": lambda: naive_at(2),
            },
            runs,
        )
    return {
        "figures": {
            "buffered": figure(r["buffered"], what=f"hot video, buffered, dedupe 30 s, {backend}"),
            "naive_fsync": figure(
                r["naive_fsync"], what=f"naive UPDATE per view, flush_log_at_trx_commit=1, {backend}"
            ),
            "naive_flush2": figure(
                r["naive_flush2"], what=f"naive UPDATE per view, flush_log_at_trx_commit=2, {backend}"
            ),
        },
        "ratios": {
            "over_naive_fsync": ratio(r["buffered"], r["naive_fsync"], of="buffered", over="naive, =1"),
            "over_naive_flush2": ratio(r["buffered"], r["naive_flush2"], of="buffered", over="naive, =2"),
        },
    }


def zipf_counts(rows: int, exponent: float, seed: int = 7) -> list[int]:
    """Views per counter row: row k (by popularity) gets views in proportion to 1/k^exponent, at
    least one, 10 on average, shuffled."""
    weights = [1 / k**exponent for k in range(1, rows + 1)]
    scale = rows * 10 / sum(weights)
    counts = [max(1, round(w * scale)) for w in weights]
    random.Random(seed).shuffle(counts)
    return counts


async def _flush_once(env: dict[str, str], counts: list[int]) -> dict[str, float]:
    base = 3 * 10**12 + time.time_ns() % 10**11
    async with Services.opened(backend_settings(env)) as services:
        buffer = ViewBuffer(services.redis, f"bench{time.time_ns()}")
        async with services.redis.pipeline(transaction=False) as pipe:
            for i, n in enumerate(counts):
                pipe.hincrby(buffer.live, f"{base + i % 100}:{base + i}", n)
            pipe.set(buffer.live_total, sum(counts))
            await pipe.execute()
        flusher = Flusher(services.db.primary, buffer, lease_seconds=60)  # shards: read from the cluster
        started = time.perf_counter()
        report = await flusher.flush_once()
        took = time.perf_counter() - started
    assert report.failed == 0 and report.views == sum(counts), report
    return {
        "rows_per_s": report.rows / took,
        "views_per_s": report.views / took,
        "statements_per_10k_views": report.statements * 10_000 / report.views,
    }


def flush(backend: str, env: dict[str, str], rows: int, runs: int) -> dict[str, Any]:
    exponent = 1.1
    counts = zipf_counts(rows, exponent)
    results = [asyncio.run(_flush_once(env, counts)) for _ in range(runs)]
    distribution = {
        "law": f"Zipf, exponent {exponent}, shuffled",
        "rows": rows,
        "views": sum(counts),
        "max_per_row": max(counts),
        "median_per_row": statistics.median(counts),
        "rows_with_one_view": sum(1 for c in counts if c == 1),
    }
    return {
        "figures": {"flush": figure(results, what=f"one flush pass, {backend}", views_per_row=distribution)}
    }


def get_video(backend: str, env: dict[str, str], seconds: float, runs: int, smoke: bool) -> dict[str, Any]:
    """Get-video answered by the process's cache, by Redis and by the database (a real miss), each
    checked against the server's counters; uncached on one connection against a bare point select."""
    # Ids for the misses are used once each; Redis hits rotate over enough ids that none is asked
    # twice within the process cache's second. The pools are sized from a short probe of this
    # machine's miss rate (the server's counters then say whether they were big enough).
    before = os.environ.get("VIDSTORE_BENCH_BEFORE")
    no_cache = {"VIDSTORE_VIDEO_CACHE_TTL_SECONDS": "0"}
    with ExitStack() as stack:
        api = stack.enter_context(serve(env=env))
        uncached = stack.enter_context(serve(env=env | no_cache))
        earlier = None
        if before:
            earlier = stack.enter_context(
                serve(env=env | no_cache | {"PYTHONPATH": before}, cwd=Path(before))
            )
        probe = ready_videos(api, env, 100)
        forget_in_redis(probe)
        probe_file = ids_file(probe)
        miss_rps = wrk(api, 1, connections=8, ids_file=probe_file)["rps"]
        probe_file.unlink()
        miss_n = 100 if smoke else int(miss_rps * seconds * runs * 1.5) + 100
        redis_n = 100 if smoke else int(min(4000, max(500, miss_rps * 8)))
        ids = ready_videos(api, env, miss_n + redis_n + 1)
        hot, redis_ids, miss_ids = ids[0], ids[1 : redis_n + 1], ids[redis_n + 1 :]
        forget_in_redis(miss_ids)
        redis_file, miss_files = ids_file(redis_ids), [ids_file(miss_ids[i::runs]) for i in range(runs)]
        miss_round = iter(miss_files)

        def counted(measure: Measure) -> Measure:
            def run() -> dict[str, float]:
                before = cache_counts(api)
                result = measure()
                after = cache_counts(api)
                delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                total = sum(delta.values()) or 1
                return result | {f"share_{k}": v / total for k, v in delta.items()}

            return run

        port = sql_port(env)
        # Every column, as the API reads them: the same row and bytes through vtgate.
        select = f"SELECT * FROM videos WHERE video_id = {hot}"
        r = interleaved(
            {
                "local_hit": counted(lambda: wrk(f"{api}/v1/videos/{hot}", seconds, connections=8)),
                "redis_hit": counted(lambda: wrk(api, seconds, connections=8, ids_file=redis_file)),
                "miss": counted(lambda: wrk(api, seconds, connections=8, ids_file=next(miss_round))),
                "uncached_one_conn": lambda: wrk(f"{uncached}/v1/videos/{hot}", seconds, connections=1),
                "select_one_conn": lambda: mysqlslap(
                    port, "vidstore", select, 1, max(200, int(seconds * 800))
                ),
            }
            | (
                {"uncached_before": lambda: wrk(f"{earlier}/v1/videos/{hot}", seconds, connections=1)}
                if earlier
                else {}
            ),
            runs,
        )
        for f in [redis_file, *miss_files]:
            f.unlink()
    one = [{"ms": 1000 / x["rps"]} for x in r["uncached_one_conn"]]
    bare = [{"ms": x["mean_ms"]} for x in r["select_one_conn"]]
    extra_figures: dict[str, Any] = {}
    extra_ratios: dict[str, Any] = {}
    if before:
        label = f"get video, cache off, one connection, as served by {_commit(Path(before))}, {backend}"
        extra_figures["uncached_before"] = figure(r["uncached_before"], what=label)
        earlier_ms = [{"ms": 1000 / x["rps"]} for x in r["uncached_before"]]
        extra_ratios["uncached_over_before"] = ratio(
            one, earlier_ms, key="ms", of="get-video latency", over=label
        )
    return {
        "figures": extra_figures
        | {
            "local_hit": figure(r["local_hit"], what=f"get video, in-process cache hit, {backend}"),
            "redis_hit": figure(r["redis_hit"], what=f"get video, Redis hit, {backend}"),
            "miss": figure(r["miss"], what=f"get video, real miss (lock, database, set), {backend}"),
            "uncached_one_conn": figure(
                r["uncached_one_conn"], what=f"get video, cache off, one connection, {backend}"
            ),
            "select_one_conn": figure(
                r["select_one_conn"], what=f"the same point select straight to {backend}, one connection"
            ),
        },
        "ratios": extra_ratios
        | {
            "uncached_over_bare_select": ratio(
                one, bare, key="ms", of="API get-video mean latency (cache off)", over="bare point select"
            ),
        },
    }


def transcode(runs: int) -> dict[str, Any]:
    """ffmpeg's CPU per output second per megapixel (x264 veryfast, one thread, as the worker encodes)."""
    results = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        args = ["taskset", "-c", WRK_CORE, "ffmpeg", "-v", "error", "-f", "lavfi", "-i"]
        args += ["testsrc2=size=1280x720:rate=30:duration=2", "-c:v", "libx264", "-preset", "veryfast"]
        args += ["-threads", "1", "-f", "null", "-"]
        subprocess.run(args, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        results.append({"cpu_s_per_output_s_per_mpx": cpu / 2 / (1280 * 720 / 1e6)})
    return {
        "figures": {"transcode": figure(results, what="ffmpeg x264 veryfast, 720p30 test source, 1 thread")}
    }


def references(runs: int, backends: dict[str, dict[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "redis_incr": figure(
            [{"rps": redis_benchmark(1)} for _ in range(runs)], what="redis-benchmark INCR -c 50"
        ),
        "redis_incr_p16": figure(
            [{"rps": redis_benchmark(16)} for _ in range(runs)], what="redis-benchmark INCR -c 50 -P 16"
        ),
    }
    select = "SELECT video_id, channel_id, title, status FROM videos WHERE video_id = 1"
    for backend, env in backends.items():
        out[f"point_select_{backend}"] = figure(
            [mysqlslap(sql_port(env), "vidstore", select, 16, 20_000) for _ in range(runs)],
            what=f"point selects, 16 connections, straight to {backend}",
        )
    return {"figures": out}


LOOKUP_COPY = "vidstore_lookup.video_lookup_unsharded"  # the lookup as it was before the move


@contextmanager
def unsharded_lookup_copy(env: dict[str, str]) -> Iterator[int]:
    """For the time of the comparison, a copy of the sharded `vidstore_idx.video_lookup` in the
    unsharded keyspace it lived in before `make move-lookup` (vidstore_lookup, beside the sequences);
    yields a video id present in both. The copy is dropped afterwards."""
    conn = pymysql.connect(
        host="127.0.0.1",
        port=sql_port(env),
        user="vidstore",
        password=os.environ["VIDSTORE_DB_PASSWORD"],
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {LOOKUP_COPY}")
            cur.execute(
                f"CREATE TABLE {LOOKUP_COPY} (video_id BIGINT UNSIGNED NOT NULL, "
                "keyspace_id VARBINARY(16) NOT NULL, PRIMARY KEY (video_id)) ENGINE=InnoDB"
            )
            rows, last = 0, 0
            while True:  # in pages: vtgate refuses a result of more than 10,000 rows
                cur.execute(
                    "SELECT video_id, keyspace_id FROM vidstore_idx.video_lookup WHERE video_id > %s "
                    "ORDER BY video_id LIMIT 5000",
                    (last,),
                )
                page = list(cur.fetchall())
                if not page:
                    break
                cur.executemany(f"INSERT INTO {LOOKUP_COPY} (video_id, keyspace_id) VALUES (%s, %s)", page)
                rows, last = rows + len(page), int(page[-1][0])
            assert rows, "no videos in the lookup: run a bench step that makes some first"
        yield last
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {LOOKUP_COPY}")
        conn.close()


def lookup(env: dict[str, str], runs: int, smoke: bool) -> dict[str, Any]:
    """Issue 12: a lookup by video id in the sharded `vidstore_idx` (xxhash of the id: one shard of
    two) against the same rows in the unsharded keyspace, through the same vtgate, interleaved; on
    one connection (latency) and on 16 (throughput). Get-video by id is this lookup plus the same
    single-shard read of the video, so the difference between the layouts is the difference here."""
    queries = 2_000 if smoke else 20_000
    with unsharded_lookup_copy(env) as vid:
        port = sql_port(env)

        def select(table: str, concurrency: int) -> Measure:
            query = f"SELECT keyspace_id FROM {table} WHERE video_id = {vid}"
            return lambda: mysqlslap(port, "vidstore", query, concurrency, queries)

        measures = {
            f"{layout}_{n}": select(table, n)
            for layout, table in (("sharded", "vidstore_idx.video_lookup"), ("unsharded", LOOKUP_COPY))
            for n in (1, 16)
        }
        r = interleaved(measures, runs)
    figures = {
        name: figure(r[name], what=f"lookup by video id through vtgate, {layout}, {n} connection(s)")
        for name, (layout, n) in ((name, name.split("_")) for name in measures)
    }
    return {
        "figures": figures,
        "ratios": {
            "latency_1": ratio(
                r["sharded_1"], r["unsharded_1"], "mean_ms", of="sharded", over="unsharded, mean ms, 1 conn"
            ),
            "qps_16": ratio(
                r["sharded_16"], r["unsharded_16"], "qps", of="sharded", over="unsharded, qps, 16 conns"
            ),
        },
    }


def machine() -> str:
    model = "?"
    with suppress(OSError, AssertionError):
        model = _search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({model}), {system}, Python {platform.python_version()}"


def capacity_inputs(r: dict[str, Any], db: str) -> dict[str, Any]:
    """What `vidstore capacity` reads: one process's (one core's) capacity per request class."""
    f = r["sections"]

    def take(section: str, name: str, key: str, note: str) -> dict[str, Any]:
        return {k: f[section]["figures"][name][key][k] for k in ("median", "min", "max")} | {"from": note}

    return {
        "view_rps": take("ingest", "views", "rps", "POST view, dedupe on"),
        "get_video_local_rps": take(f"get_video_{db}", "local_hit", "rps", f"{db}, in-process hit"),
        "get_video_redis_rps": take(f"get_video_{db}", "redis_hit", "rps", f"{db}, Redis hit"),
        "get_video_miss_rps": take(f"get_video_{db}", "miss", "rps", f"{db}, real miss"),
        "vtgate_qps": take(
            "references",
            f"point_select_{db}",
            "qps",
            f"point selects through {db} (vitess: the whole local cluster on 2 shared cores, a lower bound)",
        ),
        "shard_read_qps": take("references", "point_select_mariadb", "qps", "point selects on one MariaDB"),
        "shard_write_rows_per_s": take(
            "flush_mariadb", "flush", "rows_per_s", "flush rows/s into one MariaDB"
        ),
        "redis_ops_per_s": take("references", "redis_incr", "rps", "redis-benchmark INCR -c 50"),
        "transcode_cpu_s_per_output_s_per_mpx": take(
            "transcode", "transcode", "cpu_s_per_output_s_per_mpx", "ffmpeg x264 veryfast"
        ),
    }


def errors(r: dict[str, Any]) -> dict[str, float]:
    """Non-2xx responses and socket errors, by figure: the run is valid only if every one is 0."""
    out = {}
    for section, body in r["sections"].items():
        for name, fig in body.get("figures", {}).items():
            for key in ("non2xx", "socket_errors"):
                if fig.get(key):
                    out[f"{section}.{name}.{key}"] = fig[key]
    return out


def run(seconds: float, runs: int, smoke: bool, out: Path, only: list[str] | None = None) -> dict[str, Any]:
    """Every step, or with `only` those steps re-run into the result.json already in `out`."""
    backends: dict[str, dict[str, str]] = {"mariadb": {}}
    vt = vitess_env()
    if vt:
        backends["vitess"] = vt
    started = time.time()
    sections: dict[str, Any] = {}
    result: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "contention": CONTENTION,
            "runs": runs,
            "seconds_per_run": seconds,
            "server": "granian, 1 worker pinned to core 0; load generators on core 1",
        },
        "sections": sections,
    }
    rows = 2_000 if smoke else 20_000
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [("ingest", partial(ingest, seconds, runs))]
    steps += [(f"hot_video_{b}", partial(hot_video, b, e, seconds, runs)) for b, e in backends.items()]
    steps += [(f"flush_{b}", partial(flush, b, e, rows, runs)) for b, e in backends.items()]
    steps += [(f"get_video_{b}", partial(get_video, b, e, seconds, runs, smoke)) for b, e in backends.items()]
    steps += [("transcode", partial(transcode, runs)), ("references", partial(references, runs, backends))]
    if vt:
        steps += [("lookup_vitess", partial(lookup, vt, runs, smoke))]
    if only:
        unknown = set(only) - {name for name, _ in steps}
        assert not unknown, f"no such bench steps: {unknown}"
        previous = json.loads((out / "result.json").read_text())
        sections.update({k: v for k, v in previous["sections"].items() if k not in only})
        result["meta"] |= {"rerun": f"{', '.join(only)} at {result['meta']['date']}"}
        result["meta"]["date"] = previous["meta"]["date"]
        steps = [(name, step) for name, step in steps if name in only]
    out.mkdir(parents=True, exist_ok=True)
    for name, step in steps:
        print(f">> bench: {name}", flush=True)
        sections[name] = step()
        (out / "partial.json").write_text(json.dumps(result, indent=2))  # what a broken run got to
    result["meta"]["took_seconds"] = round(time.time() - started)
    result["capacity_inputs"] = capacity_inputs(result, "vitess" if vt else "mariadb")
    result["errors"] = errors(result)
    return result


# --- the report -----------------------------------------------------------------------------------


def _spread(s: dict[str, Any], digits: int = 0) -> str:
    return f"{s['median']:,.{digits}f} ({s['min']:,.{digits}f}-{s['max']:,.{digits}f})"


def markdown(r: dict[str, Any]) -> str:
    m = r["meta"]
    lines = [
        f"Bench of {m['date']}: {m['runs']} runs x {m['seconds_per_run']} s, {m['machine']}.",
        f"**{m['contention']}.** Figures: median (min-max).",
        "",
        "| measure | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
    ]
    for body in r["sections"].values():
        for fig in body.get("figures", {}).values():
            if "p50_ms" in fig:
                errors = int(fig.get("non2xx", 0) + fig.get("socket_errors", 0))
                lines.append(
                    f"| {fig['what']} | {_spread(fig['rps'])} | {_spread(fig['p50_ms'], 2)} | "
                    f"{_spread(fig['p99_ms'], 1)} | {errors} |"
                )
    lines += ["", "| other measure | figure |", "|---|---|"]
    for body in r["sections"].values():
        for fig in body.get("figures", {}).values():
            if "p50_ms" in fig:
                continue
            keys = [k for k, v in fig.items() if isinstance(v, dict) and "median" in v]
            text = "; ".join(f"{k} {_spread(fig[k], 2 if fig[k]['median'] < 100 else 0)}" for k in keys)
            if "views_per_row" in fig:
                d = fig["views_per_row"]
                text += f" ({d['law']}: {d['views']:,} views over {d['rows']:,} rows, max {d['max_per_row']})"
            lines.append(f"| {fig['what']} | {text} |")
    lines += ["", "| ratio (run by run) | median (min-max) |", "|---|---|"]
    for section, body in r["sections"].items():
        for rt in body.get("ratios", {}).values():
            lines.append(f"| {section}: {rt['of']} / {rt['over']} | {_spread(rt, 2)} |")
    shares = []
    for section, body in r["sections"].items():
        for name, fig in body.get("figures", {}).items():
            parts = [f"{k[6:]} {fig[k]['median']:.2f}" for k in fig if k.startswith("share_")]
            if parts:
                shares.append(f"- {section}.{name}: " + ", ".join(parts))
    if shares:
        lines += ["", "Where get-video was answered (the server's own counters, median share):", *shares]
    lines += ["", f"Errors (non-2xx, socket): {r['errors'] or 'none'}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="small data sets: it runs, not how fast")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", nargs="+", default=None, help="re-run these steps into the last result")
    args = parser.parse_args()
    result = run(args.seconds, args.runs, args.smoke, args.out, args.only)
    (args.out / "partial.json").unlink(missing_ok=True)
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    (args.out / "result.md").write_text(markdown(result))
    print(markdown(result))
    if result["errors"]:
        raise SystemExit(f"non-2xx responses or socket errors (required 0): {result['errors']}")


if __name__ == "__main__":
    main()
