"""Renders ops/prometheus/*.yml rule files for the local stack with time compressed (see local.yml):
`python local_rules.py SRC_DIR OUT_DIR`. Production loads the rule files as they are."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
RANGE = re.compile(r"\[([0-9smhdwy]+)(?::([0-9smhdwy]+))?\]")


def seconds(text: str) -> float:
    return sum(int(n) * UNITS[unit] for n, unit in DURATION.findall(text))


def duration(value: float, floor: float) -> str:
    return f"{max(round(value), int(floor))}s"


def localize(rules: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    scale = float(local["time_scale"])
    min_range, min_for = seconds(local["min_range"]), seconds(local["min_for"])

    def window(match: re.Match[str]) -> str:
        rng = duration(seconds(match.group(1)) / scale, min_range)
        step = match.group(2)
        return f"[{rng}:{duration(seconds(step) / scale, 1)}]" if step else f"[{rng}]"

    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["expr"] = RANGE.sub(window, str(rule["expr"]))
            for old, new in local.get("expr_replace", {}).get(rule.get("alert"), []):
                assert old in rule["expr"], f"{rule['alert']}: {old!r} not in its expression"
                rule["expr"] = rule["expr"].replace(old, new)
            if "for" in rule:
                rule["for"] = duration(seconds(rule["for"]) / scale, min_for)
    return rules


def main(src: Path, out: Path) -> None:
    local = yaml.safe_load((src / "local.yml").read_text())
    for name in local["rule_files"]:
        rules = localize(yaml.safe_load((src / name).read_text()), local)
        (out / name).write_text(yaml.safe_dump(rules, sort_keys=False, width=120))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
