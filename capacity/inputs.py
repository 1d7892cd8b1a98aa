"""The model's inputs from files: assumptions (YAML, over the defaults), prices (capacity/prices.yaml)
and per-process capacities (the JSON `make bench` writes: its `capacity_inputs`, medians)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from capacity.model import Assumptions, Capacities, Prices, Rendition, Tier

HERE = Path(__file__).resolve().parent
PRICES = HERE / "prices.yaml"
ASSUMPTIONS = HERE / "assumptions.yaml"
# A committed copy of a real `make bench` run's JSON: the default when this clone has not run it.
SAMPLE_BENCH = HERE / "bench-sample.json"


def assumptions(overrides: Mapping[str, Any] | None = None, path: Path | None = None) -> Assumptions:
    """The defaults, then the YAML file's keys, then `overrides` (flags); unknown keys are refused."""
    values: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of assumption names to values")
        values.update(loaded)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name for f in dataclasses.fields(Assumptions)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown assumptions: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if "ladder" in values:
        values["ladder"] = tuple(Rendition(**r) for r in values["ladder"])
    return Assumptions(**values)


def prices(path: Path = PRICES) -> Prices:
    table = yaml.safe_load(path.read_text())

    def price(name: str) -> float:
        return float(table[name]["price"])

    tiers = tuple(
        Tier(None if t["up_to_gb"] is None else float(t["up_to_gb"]), float(t["price"]))
        for t in table["cdn_egress_per_gb"]["tiers"]
    )
    return Prices(
        cdn_egress_tiers=tiers,
        origin_get_per_1k=price("origin_get_per_1k"),
        storage_standard_per_gb_month=price("storage_standard_per_gb_month"),
        storage_infrequent_per_gb_month=price("storage_infrequent_per_gb_month"),
        vcpu_hour=price("vcpu_hour"),
        tablet_hour=price("tablet_hour"),
        block_storage_per_gb_month=price("block_storage_per_gb_month"),
        redis_node_hour=price("redis_node_hour"),
    )


def price_sources(path: Path = PRICES) -> dict[str, dict[str, str]]:
    table = yaml.safe_load(path.read_text())
    return {
        name: {k: str(row[k]) for k in ("unit", "source", "date", "status")} for name, row in table.items()
    }


def capacities(bench: Mapping[str, Any], source: str) -> Capacities:
    """Per-process capacities from a bench result: the median of each `capacity_inputs` figure."""
    inputs = bench.get("capacity_inputs")
    if not isinstance(inputs, dict):
        raise ValueError(f"{source}: no capacity_inputs (is it the JSON `make bench` writes?)")
    names = [f.name for f in dataclasses.fields(Capacities) if f.name != "source"]
    missing = [n for n in names if n not in inputs]
    if missing:
        raise ValueError(f"{source}: capacity_inputs lacks {', '.join(missing)}")
    values = {n: float(inputs[n]["median"]) for n in names}
    bad = [n for n, v in values.items() if v <= 0]
    if bad:
        raise ValueError(f"{source}: capacity_inputs not positive: {', '.join(bad)}")
    meta = bench.get("meta", {})
    described = f"{source} (bench of {meta.get('date', '?')} on {meta.get('machine', '?')})"
    return Capacities(**values, source=described)


def load_bench(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a bench result")
    return data
