"""The monitoring stack (stack/monitoring, started by `make test`) against real processes: an API
(granian, multiprocess metrics), a flusher and a worker registered through file-based discovery,
the Vitess cluster's tablets, the exporters. Dashboards render and every panel's query has data;
alerts reach the webhook receiver when the fault they describe is made for real, and symptoms of a
down shard are held back. Local rules run time-compressed (ops/prometheus/local.yml)."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from loadtest.serving import ROOT, free_port, front, wait_until_ok
from tests.conftest import BACKEND, report
from tests.live import api_server, busy_front, until

pytestmark = pytest.mark.skipif(
    BACKEND != "vitess", reason="needs the Vitess cluster: runs once, in make test's vitess pass"
)


def monitoring_env() -> dict[str, str]:
    names = "PROMETHEUS_PORT ALERTMANAGER_PORT ALERT_LOG TARGETS MON"
    script = f"source stack/monitoring/env.sh && for n in {names}; do echo $n=${{!n}}; done"
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in out.stdout.split())


def notification_window() -> float:
    """Seconds within which Alertmanager notifies a new alert of a group (its group_wait, then a
    group_interval, from ops/alertmanager/alertmanager.yml): after that, no notification is no
    notification at all."""
    route = yaml.safe_load((ROOT / "ops/alertmanager/alertmanager.yml").read_text())["route"]
    seconds = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}

    def duration(text: str) -> float:
        match = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
        assert match, f"alertmanager.yml: a duration this test does not read: {text!r}"
        return int(match[1]) * seconds[match[2]]

    return duration(route["group_wait"]) + duration(route["group_interval"])


@dataclass
class Monitored:
    """The processes under watch and the monitoring stack's addresses."""

    env: dict[str, str]
    api: str
    flusher_port: int
    targets: Path
    alert_log: Path
    prometheus: str
    alertmanager: str
    flusher: subprocess.Popen[bytes] | None = None
    key: str = ""
    video_id: int = 0
    front: str = ""  # the stack's front before `api`, as `make run` serves it
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        return list(answer["data"]["result"])

    def start_flusher(self) -> None:
        self.flusher = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "flush", "--metrics-port", str(self.flusher_port)],
            cwd=ROOT,
            env=self.env,
        )
        wait_until_ok(f"http://127.0.0.1:{self.flusher_port}/", self.flusher, "flusher")

    def stop_flusher(self) -> None:
        assert self.flusher is not None
        self.flusher.terminate()
        self.flusher.wait(timeout=30)
        self.flusher = None

    def view(self) -> httpx.Response:
        """An anonymous view from a viewer of its own: an anonymous viewer is its address and user
        agent, and the API's dedupe window (30 s, as in production) would not count a repeat of the
        traffic's viewer, leaving nothing buffered for the flush-lag alert to see."""
        return httpx.post(
            f"{self.api}/v1/videos/{self.video_id}/views",
            headers={"User-Agent": f"monitoring-proof-{time.time_ns()}"},
            timeout=10,
        )

    def notifications(self, since: float = 0) -> list[dict[str, Any]]:
        """Each alert the receiver got after `since`: its labels, status, receiver path and time."""
        if not self.alert_log.exists():
            return []
        out = []
        text = self.alert_log.read_text()
        lines = text.splitlines()
        if not text.endswith("\n"):  # the receiver is writing its last line right now
            lines = lines[:-1]
        for line in lines:
            entry = json.loads(line)
            if entry["received_at"] < since:
                continue
            for alert in entry["notification"]["alerts"]:
                out.append(alert | {"path": entry["path"], "received_at": entry["received_at"]})
        return out

    def notified(self, since: float, alertname: str, status: str = "firing", **labels: str) -> Any:
        for alert in self.notifications(since):
            wanted = {"alertname": alertname} | labels
            if alert["status"] == status and all(alert["labels"].get(k) == v for k, v in wanted.items()):
                return alert
        return None


def register(targets: Path, job: str, port: int, name: str = "pytest") -> None:
    """File-based discovery, as the stack's scripts do it (written whole, then renamed)."""
    file = targets / f"{job}-{name}.json"
    with tempfile.NamedTemporaryFile("w", dir=targets, prefix=".tmp.", delete=False) as tmp:
        json.dump([{"targets": [f"127.0.0.1:{port}"], "labels": {"env": "test"}}], tmp)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, file)


def unregister(m: Monitored, job: str, port: int, name: str = "pytest") -> None:
    """Undo `register`, then wait until Prometheus scrapes the target no more: a process stopped
    before that would fail a scrape and page as VidstoreProcessDown."""
    (m.targets / f"{job}-{name}.json").unlink(missing_ok=True)

    def gone() -> bool:
        answer = httpx.get(f"{m.prometheus}/api/v1/targets", params={"state": "active"}, timeout=10).json()
        active = answer["data"]["activeTargets"]
        return all(t["labels"].get("instance") != f"127.0.0.1:{port}" for t in active)

    until(gone, 30, f"Prometheus to drop the test's {job} target")


@pytest.fixture(scope="module")
def monitored() -> Iterator[Monitored]:
    mon = monitoring_env()
    prometheus = f"http://127.0.0.1:{mon['PROMETHEUS_PORT']}"
    alertmanager = f"http://127.0.0.1:{mon['ALERTMANAGER_PORT']}"
    for url in (f"{prometheus}/-/ready", f"{alertmanager}/-/ready"):
        try:
            httpx.get(url).raise_for_status()
        except httpx.HTTPError as exc:
            pytest.fail(f"the monitoring stack is not running ({url}: {exc}); `make test` starts it")
    targets = Path(mon["TARGETS"])
    multiproc = tempfile.mkdtemp(prefix="vidstore-metrics-")
    env = dict(os.environ) | {"VIDSTORE_FLUSH_INTERVAL_SECONDS": "0.5"}
    api_env = {"PROMETHEUS_MULTIPROC_DIR": multiproc}  # aggregated, as `make run` serves it
    worker_port = free_port()
    front_metrics = free_port()
    with api_server(api_env) as api, front(api, metrics_port=front_metrics) as fronted:
        m = Monitored(env, api, free_port(), targets, Path(mon["ALERT_LOG"]), prometheus, alertmanager)
        m.front = fronted
        m.start_flusher()
        worker = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker", "--metrics-port", str(worker_port)], cwd=ROOT, env=env
        )
        m.processes.append(worker)
        api_port = int(api.rsplit(":", 1)[1])
        scraped = (
            ("api", api_port),
            ("flusher", m.flusher_port),
            ("worker", worker_port),
            ("front", front_metrics),
        )
        for job, port in scraped:
            register(targets, job, port)
        try:
            for job, port in scraped:
                up = f'up{{job="{job}", instance="127.0.0.1:{port}"}} == 1'
                until(partial(m.query, up), 30, f"Prometheus to scrape the test's {job}")
            m.key = httpx.post(f"{api}/v1/users", json={"name": "operator"}).json()["api_key"]
            auth = {"Authorization": f"Bearer {m.key}"}
            channel = httpx.post(f"{api}/v1/channels", json={"title": "Ops"}, headers=auth).json()
            made = httpx.post(
                f"{api}/v1/channels/{channel['channel_id']}/videos",
                json={"title": "watched", "visibility": "public"},
                headers=auth,
            ).json()
            m.video_id = int(made["video_id"])
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "api.cli",
                    "video-status",
                    str(m.video_id),
                    "ready",
                    "--duration-ms",
                    "1000",
                ],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
            # Until the API serves it ready: its process caches what it read for a second (the draft).
            wait_until_ok(f"{api}/v1/videos/{m.video_id}", None, "the watched video, ready", 30, status=200)
            yield m
        finally:
            for job, port in scraped:
                unregister(m, job, port)
            if m.flusher is not None:
                m.stop_flusher()
            for process in m.processes:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)


def traffic(m: Monitored, seconds: float) -> None:
    """A short mixed run through the front: views, reads, a listing, a deleted video (a worker job),
    bad requests."""
    auth = {"Authorization": f"Bearer {m.key}"}
    with httpx.Client(base_url=m.front, timeout=10) as client:
        channel = client.get(f"/v1/videos/{m.video_id}").json()["channel_id"]
        doomed = client.post(f"/v1/channels/{channel}/videos", json={"title": "gone"}, headers=auth).json()
        assert client.delete(f"/v1/videos/{doomed['video_id']}", headers=auth).status_code == 204
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert client.post(f"/v1/videos/{m.video_id}/views").status_code == 202
            assert client.get(f"/v1/videos/{m.video_id}").status_code == 200
            client.get(f"/v1/videos/{m.video_id}/views")
            client.get(f"/v1/channels/{channel}/videos")
            client.get("/v1/videos/0")  # 400: errors have a series too
            time.sleep(0.05)


def panels() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) for every query of the console dashboards' source and of the
    Grafana JSON (parsed on its own: what production would load)."""
    out = []
    source = yaml.safe_load((ROOT / "ops/dashboards/dashboards.yml").read_text())
    for name, board in source.items():
        for panel in board["panels"]:
            out += [(f"console {name}", panel["title"], q["expr"]) for q in panel["queries"]]
    for file in sorted((ROOT / "ops/grafana").glob("*.json")):
        board = json.loads(file.read_text())
        for panel in board["panels"]:
            out += [(f"grafana {file.name}", panel["title"], t["expr"]) for t in panel["targets"]]
    return out


def test_dashboards_render_and_every_panel_has_data(monitored: Monitored) -> None:
    m = monitored
    check = subprocess.run(
        [sys.executable, "stack/monitoring/dashboards.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout  # the committed consoles and JSON match their source

    def missing() -> list[str]:
        out = []
        for where, title, expr in panels():
            values = [float(r["value"][1]) for r in m.query(expr)]
            if not any(math.isfinite(v) for v in values):
                out.append(f"{where} / {title}: {expr} -> {values}")
        return out

    started, deadline = time.monotonic(), time.monotonic() + 120
    traffic(m, 5)
    while problems := missing():  # rates need two scrapes of the traffic
        assert time.monotonic() < deadline, "panels without data:\n" + "\n".join(problems)
        traffic(m, 2)
    took = time.monotonic() - started
    report(f"dashboards: all {len(panels())} panel queries return data after {took:.1f} s of traffic")
    for page in ("index", "overview", "shards", "views", "processing"):
        answer = httpx.get(f"{m.prometheus}/consoles/{page}.html", timeout=30)
        assert answer.status_code == 200, (page, answer.text[:2000])
        assert "error executing template" not in answer.text, (page, answer.text[:2000])
        assert "PromConsole.Graph" in answer.text or page == "index", page
    reports = ROOT / ".data/reports"
    reports.mkdir(parents=True, exist_ok=True)
    shot = reports / "monitoring-overview.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,2400",
            "--virtual-time-budget=8000",
            f"--screenshot={shot}",
            f"{m.prometheus}/consoles/overview.html",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) empty"
    report(f"dashboards: overview screenshot in {shot.relative_to(ROOT)}")


def test_flush_lag_alert_reaches_the_webhook_and_resolves(monitored: Monitored) -> None:
    m = monitored
    # Views earlier tests left unflushed may have raised the alert already: a firing alert is not
    # notified again, so start from none (the fixture's flusher has emptied the buffer).
    until(lambda: not m.query('ALERTS{alertname="VidstoreFlushLagHigh"}'), 120, "no flush-lag alert yet")
    since = time.time()
    m.stop_flusher()
    viewed_once = m.view()
    assert viewed_once.status_code == 202, viewed_once.text
    assert viewed_once.json()["counted"] is True  # buffered: the oldest unflushed view from now on
    viewed = time.time()
    threshold, for_, evaluation = 10.0, 2.0, 1.0  # local.yml: lag > 10 s, for 2m/60
    try:
        fired = until(lambda: m.notified(since, "VidstoreFlushLagHigh"), 60, "the flush-lag alert")
    except AssertionError as missing:  # say which stage stopped it: the gauge, the rule or Alertmanager
        lag = m.query("max(vidstore_flush_lag_seconds)")
        held = alertmanager_alerts(m, "VidstoreFlushLagHigh")
        raise AssertionError(f"{missing}; flush lag {lag}; Alertmanager has {held}") from None
    delay = fired["received_at"] - (viewed + threshold)
    report(
        f"alerts: flush lag > {threshold:.0f} s reached the webhook {delay:.1f} s after the lag crossed it"
        f" (for {for_:.0f} s + evaluation {evaluation:.0f} s + scrape 2 s + group_wait 1 s)"
    )
    assert fired["path"] == "/page", fired  # routed by severity
    assert 0 < delay <= for_ + evaluation + 2 + 10, delay  # 10 s of slack for a loaded machine
    m.start_flusher()
    restarted = time.time()
    resolved = until(
        lambda: m.notified(restarted, "VidstoreFlushLagHigh", "resolved"),
        60,
        "the flush-lag alert to resolve",
    )
    report(
        f"alerts: flush lag resolved at the webhook {resolved['received_at'] - restarted:.1f} s after restart"
    )


def alertmanager_alerts(m: Monitored, alertname: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{m.alertmanager}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'})
    return list(answer.json())


def test_a_down_shard_primary_pages_once_and_holds_back_its_symptoms(monitored: Monitored) -> None:
    m = monitored
    since = time.time()
    stop = 'source stack/vitess/env.sh && stop_pidfile "$VT_DATA/run/vttablet-200.pid" vttablet'
    subprocess.run(["bash", "-c", stop], cwd=ROOT, check=True, capture_output=True)
    try:
        fired = until(
            lambda: m.notified(since, "VitessShardPrimaryDown", keyspace="vidstore", shard="-80"),
            60,
            "the shard alert",
        )
        took = fired["received_at"] - since
        report(f"alerts: -80 primary stopped -> VitessShardPrimaryDown at the webhook in {took:.1f} s")
        # Its symptom fires in Prometheus, and Alertmanager holds it back.
        symptom = 'ALERTS{alertname="VttabletDown", alertstate="firing", tablet="200"}'
        until(lambda: m.query(symptom), 60, "VttabletDown to fire in Prometheus")
        held = until(
            lambda: [a for a in alertmanager_alerts(m, "VttabletDown") if a["status"]["inhibitedBy"]],
            30,
            "Alertmanager to inhibit VttabletDown",
        )
        assert held[0]["status"]["state"] == "suppressed", held
        # An absence: no event says "not sent", so wait out the time in which it would have been.
        time.sleep(notification_window() + 1)
        assert m.notified(since, "VttabletDown") is None
    finally:
        start = ["bash", "stack/vitess/vttablet-up.sh", "200", "vidstore", "-80"]
        subprocess.run(start, cwd=ROOT, check=True, capture_output=True)
    until(
        lambda: m.notified(since, "VitessShardPrimaryDown", "resolved", shard="-80"),
        90,
        "the shard alert to resolve after the primary is back",
    )


def test_redis_down_fires_the_redis_and_refused_views_alerts(monitored: Monitored) -> None:
    m = monitored
    since = time.time()
    subprocess.run(["bash", "stack/redis-down.sh"], cwd=ROOT, check=True, capture_output=True)
    try:

        def both() -> bool:
            assert m.view().status_code == 503  # refused, never accepted and lost
            return bool(m.notified(since, "RedisDown") and m.notified(since, "VidstoreViewsRefused"))

        until(both, 60, "RedisDown and VidstoreViewsRefused at the webhook")
        took = time.time() - since
        report(f"alerts: Redis stopped -> RedisDown and VidstoreViewsRefused at the webhook in {took:.1f} s")
    finally:
        subprocess.run(["bash", "stack/redis-up.sh"], cwd=ROOT, check=True, capture_output=True)
    until(lambda: m.view().status_code == 202, 30, "views to be accepted again")


def test_a_front_that_keeps_shedding_opens_a_ticket(monitored: Monitored) -> None:
    """The front (real haproxy) before a process held busy: every request but the held one is its
    503, scraped from haproxy's own exporter, and VidstoreFrontShedding reaches the ticket queue."""
    m = monitored
    metrics_port = free_port()
    since = time.time()
    with busy_front(metrics_port) as busy:
        register(m.targets, "front", metrics_port, name="pytest-busy")
        try:

            def shed_and_ticketed() -> Any:
                assert httpx.get(f"{busy.url}/v1/videos/1", timeout=10).status_code == 503
                return m.notified(since, "VidstoreFrontShedding")

            fired = until(shed_and_ticketed, 60, "VidstoreFrontShedding at the webhook")
        finally:
            unregister(m, "front", metrics_port, name="pytest-busy")
    assert fired["path"] == "/ticket", fired
    took = time.time() - since
    report(f"alerts: a front refusing all but one request -> VidstoreFrontShedding in {took:.1f} s")
