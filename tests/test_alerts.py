"""The alert rules in ops/prometheus/: valid, unit-tested by promtool, and about metrics we export."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from prometheus_client import REGISTRY

import api.metrics  # noqa: F401  (registers the metrics)

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "ops/prometheus"


def promtool() -> str:
    out = subprocess.run(
        ["bash", "-c", "source stack/versions.sh && echo $PROMTOOL"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip()


def test_rules_are_valid_and_fire_as_their_unit_tests_say() -> None:
    check = subprocess.run(
        [promtool(), "check", "rules", "alerts.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(
        [promtool(), "test", "rules", "alerts_test.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert test.returncode == 0, test.stdout + test.stderr


def test_rules_only_name_metrics_the_services_export() -> None:
    exported = set()
    for family in REGISTRY.collect():  # a labelled metric has no samples until first used
        exported |= {family.name, f"{family.name}_total"} if family.type == "counter" else {family.name}
    named = set(re.findall(r"\bvidstore_[a-z_]+", (RULES / "alerts.yml").read_text()))
    assert named and named <= exported, named - exported
