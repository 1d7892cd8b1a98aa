"""A schema change plan: the desired keyspaces (schema/ + vschema/) against a snapshot of the live
database, as ordered steps, each with its DDL or VSchema change, strategy, rows touched and severity.
Pure: `sharding.dba` takes the snapshot and applies the steps."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlglot import exp

from sharding.schema import Column, Keyspace, Table, apply_order, fingerprint, lookup_table, problems

SAFE, UNSAFE, REFUSED = "safe", "unsafe", "refused"
_RANK = {SAFE: 0, UNSAFE: 1, REFUSED: 2}

# What each kind of step runs through (README: "Changing the schema").
DIRECT = "direct"  # CREATE TABLE: a new table has no rows to copy, so there is nothing to do online
ONLINE = "vitess"  # Vitess online DDL (vreplication shadow table + cut-over); revertible
VSCHEMA = "ApplyVSchema"
LOOKUP = "LookupVindex"
PLAIN = "plain DDL"  # plain MariaDB, one database


@dataclass
class LiveShard:
    tables: dict[str, Table]
    rows: dict[str, int]  # estimated (information_schema)
    populated: set[str]


@dataclass
class LiveKeyspace:
    name: str
    shards: dict[str, LiveShard]
    vschema: dict[str, Any] = field(default_factory=dict)
    sharded: bool = False


@dataclass
class Step:
    keyspace: str
    action: str  # create-table alter-table drop-table vschema lookup-vindex drift invalid
    target: str
    change: str
    strategy: str
    rows: int
    severity: str
    reasons: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)  # what apply needs beyond `change`


@dataclass
class Plan:
    backend: str
    base: str  # fingerprint of the live schema the plan was made from
    steps: list[Step]

    @property
    def severity(self) -> str:
        return max((s.severity for s in self.steps), key=_RANK.__getitem__, default=SAFE)

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "base": self.base,
            "severity": self.severity,
            "steps": [asdict(s) for s in self.steps],
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Plan:
        return Plan(data["backend"], data["base"], [Step(**s) for s in data["steps"]])


def normal_vschema(value: Any) -> Any:
    """A VSchema without the empty and default fields GetVSchema adds, so files and live compare
    (vtctld also drops an unsharded keyspace's empty table entries such as `"video_lookup": {}`)."""
    if isinstance(value, Mapping):
        out = {k: normal_vschema(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, False, "", {}, [], "unspecified")}
    if isinstance(value, list):
        return [normal_vschema(v) for v in value]
    return value


def base_of(live: Mapping[str, LiveKeyspace]) -> str:
    return fingerprint(
        {
            ks.name: {
                "shards": {s: {t: tb.shape() for t, tb in sh.tables.items()} for s, sh in ks.shards.items()},
                "vschema": normal_vschema(ks.vschema),
            }
            for ks in live.values()
        }
    )


def make_plan(backend: str, desired: Mapping[str, Keyspace], live: Mapping[str, LiveKeyspace]) -> Plan:
    steps = [Step(ks, "invalid", "", p, "none", 0, REFUSED, [p]) for ks, p in _problems(desired)]
    if backend == "mariadb":
        (database,) = live.values()
        merged = {t.name: t for ks in desired.values() for t in ks.tables.values()}
        steps += _table_steps(database.name, merged, database, PLAIN, set())
        return Plan(backend, base_of(live), steps)
    lookups = _new_lookups(desired, live)
    folded = {lookup_table(ks, vindex) for ks, _, vindex in lookups}
    for name in apply_order(desired):
        want = desired[name]
        have = live.get(name)
        if have is None:
            steps.append(
                Step(
                    name,
                    "invalid",
                    name,
                    f"keyspace {name} does not exist",
                    "none",
                    0,
                    REFUSED,
                    [f"create keyspace {name} and its tablets first (stack/vitess/cluster-up.sh)"],
                )
            )
            continue
        steps += _drift(have)
        skip = {t for k, t in folded if k == name}
        steps += _table_steps(name, want.tables, have, ONLINE, skip)
        steps += _vschema_steps(want, have, lookups, folded)
    for ks, vname, vindex in lookups:
        owner = str(vindex.get("owner"))
        column = next(
            cv["column"]
            for cv in desired[ks].vschema["tables"][owner].get("column_vindexes", [])
            if cv.get("name") == vname
        )
        lk_ks, lk = lookup_table(ks, vindex)
        rows = sum(sh.rows.get(owner, 0) for sh in live[ks].shards.values())
        steps.append(
            Step(
                ks,
                "lookup-vindex",
                vname,
                f"LookupVindex {vname} on {ks}.{owner}({column}) -> {lk_ks}.{lk}:"
                " create, backfill, externalize",
                LOOKUP,
                rows,
                SAFE,
                ["a new lookup vindex on a populated table: backfilled by VReplication"],
                {
                    "owner": owner,
                    "column": column,
                    "table_keyspace": lk_ks,
                    "type": vindex.get("type"),
                    "ignore_nulls": str(vindex.get("params", {}).get("ignore_nulls", "false")) == "true",
                    "vschemas": {k: dict(desired[k].vschema) for k in (lk_ks, ks)},
                },
            )
        )
    return Plan(backend, base_of(live), steps)


def _problems(desired: Mapping[str, Keyspace]) -> list[tuple[str, str]]:
    return [(p.split(".")[0].split(":")[0], p) for p in problems(desired)]


def _new_lookups(
    desired: Mapping[str, Keyspace], live: Mapping[str, LiveKeyspace]
) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Lookup vindexes the files add on a table that already has rows: LookupVindex must backfill."""
    found = []
    for name, ks in desired.items():
        have = live.get(name)
        if have is None:
            continue
        live_vindexes = have.vschema.get("vindexes", {})
        for vname, vindex in ks.vschema.get("vindexes", {}).items():
            owner = vindex.get("owner")
            if "lookup" not in str(vindex.get("type")) or vname in live_vindexes or not owner:
                continue
            if any(owner in sh.populated for sh in have.shards.values()):
                found.append((name, vname, vindex))
    return found


def _first(shards: Mapping[str, LiveShard]) -> LiveShard:
    return shards[sorted(shards)[0]]


def _drift(have: LiveKeyspace) -> list[Step]:
    """Shards of one keyspace whose schemas differ: nothing can be planned against them."""
    names = sorted(have.shards)
    if len(names) < 2:
        return []
    reference = have.shards[names[0]]
    steps = []
    for shard in names[1:]:
        other = have.shards[shard]
        for table in sorted(set(reference.tables) | set(other.tables)):
            a, b = reference.tables.get(table), other.tables.get(table)
            if a is not None and b is not None and a.shape() == b.shape():
                continue
            if a is None or b is None:
                detail = f"{table} exists on {names[0] if b is None else shard} only"
            else:
                detail = f"{shard} differs from {names[0]}: {alter_parts(b, a, populated=True)[0]}"
            steps.append(
                Step(
                    have.name,
                    "drift",
                    table,
                    detail,
                    "none",
                    0,
                    REFUSED,
                    [f"drift between shards {names[0]} and {shard}: make the shards agree first"],
                )
            )
    return steps


def _table_steps(
    keyspace: str, want: Mapping[str, Table], have: LiveKeyspace, strategy: str, skip: set[str]
) -> list[Step]:
    live = _first(have.shards)
    creates, alters, drops = [], [], []
    for name, table in want.items():
        if name in skip and name not in live.tables:
            continue  # LookupVindex creates it
        rows = sum(sh.rows.get(name, 0) for sh in have.shards.values())
        populated = any(name in sh.populated for sh in have.shards.values())
        current = live.tables.get(name)
        if current is None:
            creates.append(
                Step(
                    keyspace,
                    "create-table",
                    name,
                    table.create,
                    DIRECT if strategy == ONLINE else strategy,
                    0,
                    SAFE,
                    ["a new table"],
                    {"seeds": table.seeds},
                )
            )
            continue
        parts, severity, reasons = alter_parts(current, table, populated)
        if parts:
            sql = f"ALTER TABLE {name} " + ", ".join(parts)
            added = [c for c in table.columns if c not in current.columns]
            alters.append(
                Step(keyspace, "alter-table", name, sql, strategy, rows, severity, reasons, {"added": added})
            )
    for name in sorted(set(live.tables) - set(want)):
        rows = sum(sh.rows.get(name, 0) for sh in have.shards.values())
        drops.append(
            Step(
                keyspace,
                "drop-table",
                name,
                f"DROP TABLE {name}",
                strategy,
                rows,
                UNSAFE,
                [f"drops table {name} and its rows"],
            )
        )
    return creates + alters + drops


def alter_parts(have: Table, want: Table, populated: bool) -> tuple[list[str], str, list[str]]:
    """The ALTER TABLE clauses turning `have` into `want`, their severity and why."""
    parts: list[str] = []
    reasons: list[tuple[str, str]] = []
    for name, column in want.columns.items():
        old = have.columns.get(name)
        if old is None:
            parts.append(f"ADD COLUMN {column.definition}")
            bare = not column.nullable and column.default is None and "auto_increment" not in column.extra
            if bare and populated:
                reasons.append((UNSAFE, f"{name}: NOT NULL without a default on a populated table"))
            else:
                reasons.append((SAFE, f"adds column {name}"))
        elif old.shape() != column.shape():
            parts.append(f"MODIFY COLUMN {column.definition}")
            reasons.append(_modify_severity(old, column, populated))
    for name in have.columns.keys() - want.columns.keys():
        parts.append(f"DROP COLUMN {name}")
        reasons.append((UNSAFE, f"drops column {name} and its data"))
    for name in have.indexes.keys() - want.indexes.keys():
        parts.append("DROP PRIMARY KEY" if name == "PRIMARY" else f"DROP KEY {name}")
        reasons.append((UNSAFE, f"drops {'primary key' if name == 'PRIMARY' else 'index ' + name}"))
    for name, index in want.indexes.items():
        old_index = have.indexes.get(name)
        if old_index == index:
            continue
        if old_index is not None:
            parts.append("DROP PRIMARY KEY" if name == "PRIMARY" else f"DROP KEY {name}")
        parts.append(f"ADD {index.definition()}")
        if old_index is not None:
            reasons.append((UNSAFE, f"changes index {name}"))
        elif index.unique:
            reasons.append((UNSAFE, f"adds unique key {name}: a unique-key change"))
        else:
            reasons.append((SAFE, f"adds index {name}"))
    for option, value in want.options.items():
        if have.options.get(option) != value:
            if option == "comment":
                parts.append("COMMENT = " + exp.Literal.string(value).sql("mysql"))
                reasons.append((SAFE, "changes the table comment"))
            else:
                parts.append(f"DEFAULT CHARSET = {value}")
                reasons.append((UNSAFE, f"changes the default charset to {value}"))
    severity = max((s for s, _ in reasons), key=_RANK.__getitem__, default=SAFE)
    return parts, severity, [r for _, r in reasons]


def _modify_severity(old: Column, new: Column, populated: bool) -> tuple[str, str]:
    if old.type != new.type and not _widens(old.type, new.type):
        return UNSAFE, f"{new.name}: {old.type} -> {new.type} narrows or changes the type"
    if old.nullable and not new.nullable and populated:
        return UNSAFE, f"{new.name}: NULL -> NOT NULL on a populated table"
    return SAFE, f"changes column {new.name} ({old.type} -> {new.type})"


_INTS = ["tinyint", "smallint", "mediumint", "int", "bigint"]
_TEXTS = ["tinytext", "text", "mediumtext", "longtext"]


def _widens(old: str, new: str) -> bool:
    """Whether every value of type `old` fits type `new` (same family, no smaller)."""
    a, b = exp.DataType.build(old, dialect="mysql"), exp.DataType.build(new, dialect="mysql")
    an, bn = a.this.value.lower(), b.this.value.lower()
    params_a = [p.sql("mysql") for p in a.expressions]
    params_b = [p.sql("mysql") for p in b.expressions]
    for family in (_INTS, _TEXTS):
        strip = [n.lstrip("u") for n in (an, bn)]
        if strip[0] in family and strip[1] in family:
            same_sign = an.startswith("u") == bn.startswith("u") or strip[0] in _TEXTS
            return same_sign and family.index(strip[1]) >= family.index(strip[0])
    if an in ("enum", "set") and an == bn:
        return params_b[: len(params_a)] == params_a  # values appended, none removed or reordered
    if an == bn or {an, bn} <= {"char", "varchar"} or {an, bn} <= {"binary", "varbinary"}:
        try:
            return all(int(y) >= int(x) for x, y in zip(params_a, params_b, strict=True))
        except ValueError:
            return False
    return False


def _vschema_steps(
    want: Keyspace,
    have: LiveKeyspace,
    lookups: list[tuple[str, str, Mapping[str, Any]]],
    folded: set[tuple[str, str]],
) -> list[Step]:
    desired = normal_vschema(dict(want.vschema))
    live = normal_vschema(have.vschema)
    if desired == live:
        return []
    # What LookupVindex adds itself is left out of the plain ApplyVSchema before it.
    before = copy.deepcopy(desired)
    for ks, vname, vindex in lookups:
        if ks == want.name:
            before.get("vindexes", {}).pop(vname, None)
            owner = before["tables"][vindex["owner"]]
            owner["column_vindexes"] = [c for c in owner["column_vindexes"] if c.get("name") != vname]
    for ks, table in folded:
        if ks == want.name and table not in live.get("tables", {}):
            before.get("tables", {}).pop(table, None)
    populated = {t for sh in have.shards.values() for t in sh.populated}
    reasons = _vschema_changes(live, desired, populated, {v for k, v, _ in lookups if k == want.name})
    if before == live:
        return []
    severity = max((s for s, _ in reasons), key=_RANK.__getitem__, default=SAFE)
    change = "; ".join(r for _, r in reasons) or "VSchema fields changed"
    return [
        Step(
            want.name,
            "vschema",
            f"{want.name}.json",
            change,
            VSCHEMA,
            0,
            severity,
            [r for _, r in reasons],
            {"vschema": before},
        )
    ]


def _vschema_changes(
    live: Mapping[str, Any], want: Mapping[str, Any], populated: set[str], by_lookup: set[str]
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if live.get("tables") and bool(live.get("sharded")) != bool(want.get("sharded")):
        out.append(
            (REFUSED, "flips `sharded`: that is a resharding (MoveTables/Reshard), not a schema change")
        )
    lv, wv = live.get("vindexes", {}), want.get("vindexes", {})
    for name in wv.keys() - lv.keys():
        out.append((SAFE, f"adds vindex {name}" + (" (through LookupVindex)" if name in by_lookup else "")))
    for name in lv.keys() - wv.keys():
        out.append((UNSAFE, f"removes vindex {name}"))
    for name in lv.keys() & wv.keys():
        if lv[name] != wv[name]:
            out.append((UNSAFE, f"changes vindex {name}: {lv[name]} -> {wv[name]}"))
    lt, wt = live.get("tables", {}), want.get("tables", {})
    for name in wt.keys() - lt.keys():
        out.append((SAFE, f"adds table {name}"))
    for name in lt.keys() - wt.keys():
        out.append((UNSAFE, f"removes table {name} from the VSchema (queries stop routing to it)"))
    for name in sorted(lt.keys() & wt.keys()):
        out += _vtable_changes(name, lt[name], wt[name], name in populated, by_lookup)
    return out


def _vtable_changes(
    name: str, old: Mapping[str, Any], new: Mapping[str, Any], populated: bool, by_lookup: set[str]
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    ocv, ncv = old.get("column_vindexes", []), new.get("column_vindexes", [])
    if ocv[:1] != ncv[:1]:
        why = f"{name}: changes the primary vindex {ocv[:1]} -> {ncv[:1]}"
        if populated:
            out.append(
                (
                    REFUSED,
                    why + " of a populated table: rows would sit on the wrong shards "
                    "(move them with MoveTables/Reshard into a new table instead)",
                )
            )
        else:
            out.append((UNSAFE, why + " (the table is empty)"))
    for cv in ncv[1:]:
        if cv not in ocv[1:]:
            via = " (through LookupVindex)" if cv.get("name") in by_lookup else ""
            out.append((SAFE, f"{name}: adds vindex {cv.get('name')} on {cv.get('column')}{via}"))
    for cv in ocv[1:]:
        if cv not in ncv[1:]:
            out.append((UNSAFE, f"{name}: removes vindex {cv.get('name')} on {cv.get('column')}"))
    if old.get("auto_increment") != new.get("auto_increment"):
        if old.get("auto_increment"):
            out.append((UNSAFE, f"{name}: re-points auto_increment to {new.get('auto_increment')}"))
        else:
            out.append((SAFE, f"{name}: adds auto_increment {new.get('auto_increment')}"))
    rest = {k for k in old.keys() | new.keys() if k not in ("column_vindexes", "auto_increment")}
    if any(old.get(k) != new.get(k) for k in rest):
        out.append((UNSAFE, f"{name}: changes {sorted(k for k in rest if old.get(k) != new.get(k))}"))
    return out
