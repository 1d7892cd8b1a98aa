"""What a DBA's change must keep true between schema/ (DDL per keyspace) and vschema/ (VSchema per
keyspace). Pure functions over the files' text: the `dba` command does the reading and applying."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_CREATE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?\s*\((.*?)\)\s*([^;]*);", re.I | re.S
)
_COLUMN = re.compile(r"^\s*`?(\w+)`?\s+\w+", re.M)
_NOT_COLUMNS = {"PRIMARY", "KEY", "UNIQUE", "INDEX", "CONSTRAINT", "FOREIGN", "FULLTEXT", "CHECK"}


@dataclass(frozen=True)
class Table:
    name: str
    columns: frozenset[str]
    sequence: bool  # COMMENT 'vitess_sequence'


@dataclass
class Keyspace:
    name: str
    tables: dict[str, Table] = field(default_factory=dict)
    vschema: Mapping[str, Any] = field(default_factory=dict)


def parse_tables(ddl: str) -> dict[str, Table]:
    """The tables a DDL text creates, with their column names."""
    tables = {}
    for match in _CREATE.finditer(_strip_comments(ddl)):
        name, body, options = match.groups()
        columns = frozenset(c for c in _COLUMN.findall(body) if c.upper() not in _NOT_COLUMNS)
        tables[name] = Table(name, columns, "vitess_sequence" in options.lower())
    return tables


def _strip_comments(ddl: str) -> str:
    return re.sub(r"--[^\n]*", "", ddl)


def _split(qualified: str, default_keyspace: str) -> tuple[str, str]:
    keyspace, _, table = qualified.rpartition(".")
    return (keyspace or default_keyspace), table


def problems(keyspaces: Mapping[str, Keyspace]) -> list[str]:
    """Every way vschema/ and schema/ disagree; empty when they agree."""
    found: list[str] = []
    for ks in keyspaces.values():
        vtables: Mapping[str, Any] = ks.vschema.get("tables", {})
        vindexes: Mapping[str, Any] = ks.vschema.get("vindexes", {})
        sharded = bool(ks.vschema.get("sharded"))
        for name in sorted(set(ks.tables) - set(vtables)):
            found.append(f"{ks.name}.{name}: in schema/ but not in vschema/")
        for name, spec in vtables.items():
            table = ks.tables.get(name)
            if table is None:
                found.append(f"{ks.name}.{name}: in vschema/ but no CREATE TABLE in schema/{ks.name}/")
                continue
            if spec.get("type") == "sequence" and not table.sequence:
                found.append(f"{ks.name}.{name}: a sequence needs COMMENT 'vitess_sequence'")
            column_vindexes = spec.get("column_vindexes", [])
            if sharded and not column_vindexes:
                found.append(f"{ks.name}.{name}: a sharded table needs a primary vindex")
            for cv in column_vindexes:
                if cv.get("column") not in table.columns:
                    found.append(f"{ks.name}.{name}: vindex column {cv.get('column')!r} is not a column")
                if cv.get("name") not in vindexes:
                    found.append(f"{ks.name}.{name}: vindex {cv.get('name')!r} is not defined")
            auto = spec.get("auto_increment")
            if auto:
                found += _check_sequence(keyspaces, ks, name, table, auto)
        for vname, vindex in vindexes.items():
            if "lookup" in str(vindex.get("type", "")):
                found += _check_lookup(keyspaces, ks, vname, vindex)
    return found


def _check_sequence(
    keyspaces: Mapping[str, Keyspace], ks: Keyspace, name: str, table: Table, auto: Mapping[str, Any]
) -> list[str]:
    out = []
    if auto.get("column") not in table.columns:
        out.append(f"{ks.name}.{name}: auto_increment column {auto.get('column')!r} is not a column")
    seq_ks, seq = _split(str(auto.get("sequence", "")), ks.name)
    target = keyspaces.get(seq_ks)
    if target is None or seq not in target.tables:
        out.append(f"{ks.name}.{name}: sequence {seq_ks}.{seq} has no table")
    elif target.vschema.get("tables", {}).get(seq, {}).get("type") != "sequence":
        out.append(f"{ks.name}.{name}: {seq_ks}.{seq} is not a sequence in vschema/{seq_ks}.json")
    return out


def _check_lookup(
    keyspaces: Mapping[str, Keyspace], ks: Keyspace, vname: str, vindex: Mapping[str, Any]
) -> list[str]:
    params = vindex.get("params", {})
    lk_ks, lk = _split(str(params.get("table", "")), ks.name)
    target = keyspaces.get(lk_ks)
    if target is None or lk not in target.tables:
        return [f"{ks.name}: lookup vindex {vname} table {lk_ks}.{lk} has no CREATE TABLE"]
    out = []
    for side in ("from", "to"):
        for column in str(params.get(side, "")).split(","):
            if column.strip() not in target.tables[lk].columns:
                out.append(f"{ks.name}: lookup vindex {vname}: {lk_ks}.{lk} has no column {column!r}")
    owner = vindex.get("owner")
    if owner and owner not in ks.vschema.get("tables", {}):
        out.append(f"{ks.name}: lookup vindex {vname} owner {owner!r} is not a table")
    return out


def apply_order(keyspaces: Mapping[str, Keyspace]) -> list[str]:
    """Unsharded keyspaces first: sharded VSchemas name their sequence and lookup tables."""
    return sorted(keyspaces, key=lambda k: (bool(keyspaces[k].vschema.get("sharded")), k))
