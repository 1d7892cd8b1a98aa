"""The rules in ops/prometheus/: valid, each unit-tested by promtool, about metrics we export, and
loadable time-compressed by the local stack."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

import api.app
import api.domain.processing.worker  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "ops/prometheus"
RULE_FILES = ["recording.yml", "alerts.yml"]
# Exported by Litestar's Prometheus middleware once the first request is served.
HTTP_METRICS = {f"vidstore_http_{name}" for name in ("requests_total", "request_duration_seconds")}


def rules(folder: Path = RULES) -> list[dict[str, Any]]:
    groups = [g for name in RULE_FILES for g in yaml.safe_load((folder / name).read_text())["groups"]]
    return [rule for group in groups for rule in group["rules"]]


def promtool() -> str:
    out = subprocess.run(
        ["bash", "-c", "source stack/versions.sh && echo $PROMTOOL"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip()


def test_rules_are_valid_and_fire_as_their_unit_tests_say() -> None:
    check = subprocess.run(
        [promtool(), "check", "rules", *RULE_FILES], cwd=RULES, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(
        [promtool(), "test", "rules", "alerts_test.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert test.returncode == 0, test.stdout + test.stderr


def test_every_rule_has_a_unit_test() -> None:
    tests = yaml.safe_load((RULES / "alerts_test.yml").read_text())
    assert tests["rule_files"] == RULE_FILES
    alerts = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", [])}
    exprs = " ".join(t["expr"] for case in tests["tests"] for t in case.get("promql_expr_test", []))
    untested = [r["alert"] for r in rules() if "alert" in r and r["alert"] not in alerts]
    untested += [r["record"] for r in rules() if "record" in r and str(r["record"]) not in exprs]
    assert not untested, untested


def test_rules_only_name_metrics_the_services_export() -> None:
    exported = set(HTTP_METRICS)
    for family in REGISTRY.collect():  # a labelled metric has no samples until first used
        exported |= {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
    text = " ".join(str(r["expr"]) for r in rules())
    named = set(re.findall(r"(?<![:\w])vidstore_[a-z_]+", text))  # not recorded names (route:vidstore_…)
    named = {re.sub("_(bucket|count|sum)$", "", m) for m in named}
    assert named and named <= exported, named - exported


def test_the_local_stack_loads_the_rules_time_compressed(tmp_path: Path) -> None:
    script = ROOT / "stack/monitoring/local_rules.py"
    subprocess.run([sys.executable, str(script), str(RULES), str(tmp_path)], check=True)
    check = subprocess.run(
        [promtool(), "check", "rules", *RULE_FILES], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    local = {r.get("alert"): r for r in rules(tmp_path)}
    assert local["VidstoreFlushLagHigh"]["for"] == "2s" and "> 10" in local["VidstoreFlushLagHigh"]["expr"]
    assert "[60s]" in local["VidstoreViewsRefused"]["expr"]  # 5m / 60, no shorter than min_range
