"""`make bench`, playback: the edge that verifies tokens itself and caches (stack/edge/) against the
path it replaced (every file: the API's verifier, then an uncached presigned fetch from the bucket;
loadtest/legacy-edge.conf.template + loadtest/legacy_verify.py), side by side in one run, against the
same API process, bucket and files. Measures, for each:
- segment requests/s (wrk, one hot segment, 64 connections; the new edge's cache warm), several
  runs per path interleaved (median and spread; the ratio round by round);
- storage GETs per 1,000 plays of one hot video (a play: master, variant playlist, 5 segments, with
  a token of its own), read from each edge's log of what it fetched from the bucket;
- API requests per played file (the API's own request counter, before and after).
Writes .data/bench/edge.json and prints a table. The machine may be shared: figures are labelled so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

import httpx

from api import storage
from api.domain.playback.tokens import sign_path
from api.settings import Settings
from api.storage import ObjectStore
from loadtest.bench import Measure, figure, interleaved, ratio
from loadtest.serving import ROOT, free_port, granian, wait_until_ok

OUT = ROOT / ".data" / "bench"
SEGMENTS = [f"hls/360p/seg_{n:03d}.ts" for n in range(5)]
PLAYLISTS = ["hls/master.m3u8", "hls/360p/index.m3u8"]
FAST = {"VIDSTORE_RATE_LIMIT_REQUESTS": "100000000", "VIDSTORE_MAX_IN_FLIGHT": "100000"}


def user_line() -> str:
    return "user root;" if os.geteuid() == 0 else ""


@contextmanager
def new_edge(api: str, folder: Path) -> Iterator[str]:
    """The edge as stack/edge-up.sh starts it; `api` is not its concern (it never calls the API)."""
    port = free_port()
    subprocess.run(["bash", "stack/edge-up.sh", str(folder), str(port)], cwd=ROOT, check=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(["bash", "stack/edge-down.sh", str(folder)], cwd=ROOT, check=False)


@contextmanager
def legacy_edge(api: str, folder: Path) -> Iterator[str]:
    port = free_port()
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    template = (ROOT / "loadtest" / "legacy-edge.conf.template").read_text()
    conf = folder / "nginx.conf"
    for name, value in {"@DIR@": str(folder), "@PORT@": f"127.0.0.1:{port}", "@API@": api}.items():
        template = template.replace(name, value)
    conf.write_text(template.replace("@USER@", user_line()))
    nginx = ["nginx", "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")]
    subprocess.run(nginx, check=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(f"{url}/", None, "legacy edge")
        yield url
    finally:
        subprocess.run([*nginx, "-s", "quit"], check=False)


def seed(api: str, settings: Settings) -> int:
    """A ready public video with 2 playlists and 5 segments of 200 KB (a 2 s, 800 kbit/s segment)."""
    key = httpx.post(f"{api}/v1/users", json={"name": "bench"}).json()["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    channel = httpx.post(f"{api}/v1/channels", json={"title": "bench"}, headers=auth).json()["channel_id"]
    made = httpx.post(
        f"{api}/v1/channels/{channel}/videos", json={"title": "hot", "visibility": "public"}, headers=auth
    )
    video_id = int(made.json()["video_id"])
    store = ObjectStore(
        settings.s3_endpoint,
        settings.s3_access_key,
        settings.s3_secret_key,
        settings.s3_bucket,
        settings.s3_region,
    )
    variant = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + "".join(
        f"#EXTINF:2.0,\n{s.rsplit('/', 1)[1]}\n" for s in SEGMENTS
    )
    bodies = {PLAYLISTS[0]: b"#EXTM3U\n360p/index.m3u8\n", PLAYLISTS[1]: variant.encode()}
    bodies |= {segment: os.urandom(200_000) for segment in SEGMENTS}
    for name, body in bodies.items():
        store.client.put_object(Bucket=store.bucket, Key=storage.video_prefix(video_id) + name, Body=body)
    subprocess.run(
        [sys.executable, "-m", "api.cli", "video-status", str(video_id), "ready", "--duration-ms", "10000"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    # Until the API serves it ready (its process caches what it read for a second, and it read the
    # draft): the legacy path's verifier asks it about the video on every file.
    wait_until_ok(f"{api}/v1/videos/{video_id}", None, "the hot video, ready", seconds=30, status=200)
    return video_id


def wrk(url: str, seconds: float, connections: int = 64) -> float:
    """Requests/s of wrk (closed loop) on one URL; non-2xx answers are counted and must be none."""
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{round(seconds)}s", url],
        capture_output=True,
        text=True,
        check=True,
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    assert errors is None, done.stdout
    found = re.search(r"Requests/sec:\s+([0-9.]+)", done.stdout)
    assert found, done.stdout
    return float(found.group(1))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc), whatever else runs on the machine."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def serving_pids(edge_folder: Path, api: str) -> list[int]:
    """The edge's nginx (master and workers), the API's granian processes and the storage server."""
    port = api.rsplit(":", 1)[1]
    listing = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in listing.splitlines() if line.strip()]
    master = int((edge_folder / "nginx.pid").read_text())
    pids = [master] + [int(pid) for pid, ppid, _ in rows if int(ppid) == master]
    pids += [int(pid) for pid, _, args in rows if "granian" in args and f"--port {port}" in args]
    storage = ROOT / ".data" / "run" / "s3.pid"
    return pids + ([int(storage.read_text())] if storage.exists() else [])


def api_requests(api: str) -> float:
    """The API's count of requests served (Prometheus), excluding the metrics scrapes themselves."""
    text = httpx.get(f"{api}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("vidstore_http_requests_total{") and 'path="/metrics"' not in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def plays(edge: str, keys: dict[str, bytes], video_id: int, count: int) -> int:
    """`count` viewers, each with a token of their own, fetch master, variant and every segment."""
    base = int(time.time()) + 3600

    def play(viewer: int) -> int:
        token = sign_path(keys, video_id, "x", base + viewer, None).rsplit("/", 1)[0]
        with httpx.Client(base_url=edge) as client:
            for file in PLAYLISTS + SEGMENTS:
                answer = client.get(f"{token}/{file}")
                assert answer.status_code == 200, (file, answer.status_code, answer.text[:100])
        return len(PLAYLISTS) + len(SEGMENTS)

    with ThreadPoolExecutor(16) as pool:
        return sum(pool.map(play, range(count)))


def storage_reads(folder: Path, legacy: bool) -> int:
    if legacy:  # no cache: every file the old edge served 200 was fetched from the bucket
        lines = (folder / "access.log").read_text().splitlines()
        return sum(1 for line in lines if '"GET /videos/' in line and '" 200 ' in line)
    log = folder / "storage.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def under_wrk(edge: str, api: str, folder: Path, segment: str, seconds: float) -> dict[str, float]:
    """One wrk run on the hot segment: requests/s, CPU of the serving processes per segment, and the
    API's requests per segment meanwhile (the API's own counter, before and after)."""
    api_before, pids = api_requests(api), serving_pids(folder, api)
    cpu_before = cpu_seconds(pids)
    rps = wrk(edge + segment, seconds)
    served = max(1.0, rps * round(seconds))
    return {
        "rps": rps,
        # CPU of edge + API + storage per segment served: robust to other load on the machine.
        "cpu_ms_per_segment": (cpu_seconds(pids) - cpu_before) * 1000 / served,
        "api_requests_per_segment": (api_requests(api) - api_before) / served,
    }


def played(
    legacy: bool, edge: str, api: str, folder: Path, video_id: int, count: int
) -> dict[str, float | int]:
    """`count` plays of the hot video: the storage GETs and API requests they cost."""
    keys = Settings.from_env().playback_keys
    reads_before, api_before = storage_reads(folder, legacy), api_requests(api)
    started = time.monotonic()
    files = plays(edge, keys, video_id, count)
    reads, api_calls = storage_reads(folder, legacy) - reads_before, api_requests(api) - api_before
    return {
        "plays": count,
        "files_played": files,
        "plays_seconds": round(time.monotonic() - started, 1),
        "storage_gets": reads,
        "storage_gets_per_1000_plays": round(reads * 1000 / count, 1),
        "distinct_files": len(PLAYLISTS) + len(SEGMENTS),
        "api_requests": int(api_calls),
        "api_requests_per_played_file": round(api_calls / files, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per path, interleaved")
    parser.add_argument("--plays", type=int, help="default 1000; 50 for a smoke run (--seconds under 5)")
    args, _ = parser.parse_known_args()  # stack/bench.sh passes every benchmark the same arguments
    args.plays = args.plays or (1000 if args.seconds >= 5 else 50)
    settings = Settings.from_env()
    OUT.mkdir(parents=True, exist_ok=True)
    names = {"edge": "edge (local verify + cache)", "legacy": "legacy"}
    with ExitStack() as stack:
        app = "loadtest.legacy_verify:create_legacy_app"
        api = stack.enter_context(granian(app, FAST, log_level="error"))
        video_id = seed(api, settings)
        edges, folders = {}, {}
        for name, start in (("edge", new_edge), ("legacy", legacy_edge)):
            folders[name] = OUT / ("edge-new" if name == "edge" else "edge-legacy")
            subprocess.run(["rm", "-rf", str(folders[name])], check=True)
            folders[name].mkdir(parents=True)
            edges[name] = stack.enter_context(start(api, folders[name]))
        segment = sign_path(settings.playback_keys, video_id, SEGMENTS[0], int(time.time()) + 3600, None)
        for edge in edges.values():  # warms the new edge's cache, and both edges' first requests
            assert httpx.get(edge + segment).status_code == 200
        measures: dict[str, Measure] = {
            name: partial(under_wrk, edges[name], api, folders[name], segment, args.seconds) for name in edges
        }
        runs = interleaved(measures, args.rounds)
        paths = [
            figure(runs[name], path=names[name])
            | played(name == "legacy", edges[name], api, folders[name], video_id, args.plays)
            for name in edges
        ]
    report = {
        "rounds": args.rounds,
        "wrk_seconds": args.seconds,
        "paths": paths,
        "requests_per_s_ratio": ratio(runs["edge"], runs["legacy"], "rps"),
        "cpu_per_segment_ratio": ratio(runs["legacy"], runs["edge"], "cpu_ms_per_segment"),
    }
    (OUT / "edge.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nplayback: {args.rounds} interleaved {args.seconds:.0f} s wrk runs per path, {args.plays} plays")
    print(f"{'':44}{'new edge':>28}{'legacy path':>28}")

    def spread(f: dict[str, float]) -> str:
        return f"{f['median']:g} ({f['min']:g}-{f['max']:g})"

    for label, field in (
        ("segment requests/s (one hot segment)", "rps"),
        ("CPU ms per segment (edge + API + storage)", "cpu_ms_per_segment"),
        ("API requests per segment (under wrk)", "api_requests_per_segment"),
    ):
        print(f"{label:44}" + "".join(f"{spread(p[field]):>28}" for p in paths))
    for label, field in (
        ("storage GETs per 1,000 plays (7 files)", "storage_gets_per_1000_plays"),
        ("API requests per played file", "api_requests_per_played_file"),
        ("seconds for the plays (16 threads)", "plays_seconds"),
    ):
        print(f"{label:44}" + "".join(f"{p[field]:>28}" for p in paths))
    rps, cpu = report["requests_per_s_ratio"], report["cpu_per_segment_ratio"]
    print(f"new edge / legacy path, segment requests/s, round by round: {spread(rps)}x (target >= 10x)")
    print(f"legacy / new edge, CPU per segment served: {spread(cpu)}x (less sensitive to other load)")


if __name__ == "__main__":
    main()
