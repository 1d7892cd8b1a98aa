"""The DBA's data, parsed: `schema/<keyspace>/*.sql` (desired CREATE TABLEs) and `vschema/<keyspace>.json`.

Parsed with sqlglot's MySQL dialect, the same way for the files and for the live `SHOW CREATE TABLE`
of every shard, so a diff compares like with like. Pure functions: `sharding.dba` reads and applies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # lower case, integer display widths dropped (MariaDB prints bigint(20))
    nullable: bool
    default: str | None  # "NULL" for a nullable column without one, as MariaDB reports it
    extra: str  # auto_increment / on update ...
    comment: str
    definition: str  # for ADD/MODIFY COLUMN

    def shape(self) -> tuple[str, bool, str | None, str, str]:
        return (self.type, self.nullable, self.default, self.extra, self.comment)


@dataclass(frozen=True)
class Index:
    name: str  # PRIMARY for the primary key
    columns: tuple[str, ...]
    unique: bool
    kind: str  # "" or FULLTEXT/SPATIAL

    def definition(self) -> str:
        cols = ", ".join(self.columns)
        if self.name == "PRIMARY":
            return f"PRIMARY KEY ({cols})"
        prefix = "UNIQUE KEY" if self.unique else f"{self.kind} KEY".strip()
        return f"{prefix} {self.name} ({cols})"


@dataclass
class Table:
    name: str
    columns: dict[str, Column]
    indexes: dict[str, Index]
    options: dict[str, str]  # charset, comment (only what the statement names)
    create: str = ""
    seeds: list[str] = field(default_factory=list)  # INSERTs that run once, when the table is created

    @property
    def sequence(self) -> bool:
        return self.options.get("comment") == "vitess_sequence"

    def shape(self) -> dict[str, Any]:
        """What two tables must share to be the same (no text, no seeds)."""
        return {
            "columns": {n: c.shape() for n, c in sorted(self.columns.items())},
            "indexes": {n: asdict(i) for n, i in sorted(self.indexes.items())},
            "options": dict(sorted(self.options.items())),
        }


@dataclass
class Keyspace:
    name: str
    tables: dict[str, Table] = field(default_factory=dict)
    vschema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sharded(self) -> bool:
        return bool(self.vschema.get("sharded"))


class SchemaError(ValueError):
    """A file the parser cannot read as CREATE TABLE / seed INSERT statements."""


def parse_tables(ddl: str) -> dict[str, Table]:
    """The tables a DDL text creates (CREATE TABLE [IF NOT EXISTS]), with their seed INSERTs."""
    tables: dict[str, Table] = {}
    try:
        statements = sqlglot.parse(ddl, read="mysql")
    except sqlglot.errors.ParseError as e:
        raise SchemaError(str(e)) from e
    for statement in statements:
        if statement is None or isinstance(statement, exp.Semicolon):
            continue
        if isinstance(statement, exp.Create) and statement.args.get("kind") == "TABLE":
            table = table_of(statement)
            tables[table.name] = table
        elif isinstance(statement, exp.Insert):
            target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
            name = target.name
            if name not in tables:
                raise SchemaError(f"INSERT into {name} before its CREATE TABLE")
            tables[name].seeds.append(statement.sql("mysql", comments=False))
        else:
            raise SchemaError(
                f"only CREATE TABLE and seed INSERTs belong in schema/: {statement.sql('mysql')}"
            )
    return tables


def parse_create(text: str) -> Table:
    """One CREATE TABLE, e.g. a shard's SHOW CREATE TABLE."""
    statement = sqlglot.parse_one(text, read="mysql")
    if not isinstance(statement, exp.Create):
        raise SchemaError(f"not a CREATE TABLE: {text[:80]}")
    return table_of(statement)


def table_of(create: exp.Create) -> Table:
    schema = create.this
    if not isinstance(schema, exp.Schema):
        raise SchemaError(f"CREATE TABLE without columns: {create.sql('mysql')[:80]}")
    columns: dict[str, Column] = {}
    indexes: dict[str, Index] = {}
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            column, inline_key = _column(item)
            columns[column.name] = column
            if inline_key:
                indexes["PRIMARY"] = Index("PRIMARY", (column.name,), True, "")
        else:
            index = _index(item)
            if index is not None:
                indexes[index.name] = index
    options = {}
    for prop in create.args["properties"].expressions if create.args.get("properties") else []:
        if isinstance(prop, exp.CharacterSetProperty):
            options["charset"] = prop.this.name.lower()
        elif isinstance(prop, exp.SchemaCommentProperty):
            options["comment"] = prop.this.name
    create = create.copy()
    create.set("exists", False)
    return Table(schema.this.name, columns, indexes, options, create.sql("mysql", comments=False))


def _column(item: exp.ColumnDef) -> tuple[Column, bool]:
    kind = item.args["kind"].copy()
    if kind.is_type(*exp.DataType.INTEGER_TYPES):
        kind.set("expressions", [])  # display width means nothing (and MariaDB adds it)
    nullable, default, extra, comment, primary = True, None, [], "", False
    for constraint in item.constraints:
        c = constraint.kind
        if isinstance(c, exp.NotNullColumnConstraint):
            nullable = bool(c.args.get("allow_null"))
        elif isinstance(c, exp.DefaultColumnConstraint):
            default = c.this.sql("mysql")
        elif isinstance(c, exp.CommentColumnConstraint):
            comment = c.this.name
        elif isinstance(c, exp.PrimaryKeyColumnConstraint):
            primary, nullable = True, False
        else:
            extra.append(c.sql("mysql").lower())
    if default is None and nullable:
        default = "NULL"
    column = Column(
        item.name, kind.sql("mysql").lower(), nullable, default, " ".join(extra), comment, item.sql("mysql")
    )
    return column, primary


def _names(items: list[exp.Expression]) -> tuple[str, ...]:
    return tuple(i.sql("mysql").replace("`", "").lower() for i in items)


def _index(item: exp.Expression) -> Index | None:
    if isinstance(item, exp.PrimaryKey):
        return Index("PRIMARY", _names(item.expressions), True, "")
    if isinstance(item, exp.UniqueColumnConstraint) and isinstance(item.this, exp.Schema):
        return Index(item.this.this.name, _names(item.this.expressions), True, "")
    if isinstance(item, exp.IndexColumnConstraint):
        kind = str(item.args.get("kind") or "").upper()
        return Index(
            item.this.name, _names(item.expressions), kind == "UNIQUE", "" if kind == "UNIQUE" else kind
        )
    if isinstance(item, exp.Constraint):
        raise SchemaError(
            f"constraints are not supported (Vitess shards cannot check them): {item.sql('mysql')}"
        )
    return None


def fingerprint(value: Any) -> str:
    """A stable hash of JSON-able data (the live schema a plan was made from)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _split(qualified: str, default_keyspace: str) -> tuple[str, str]:
    keyspace, _, table = qualified.rpartition(".")
    return (keyspace or default_keyspace), table


def problems(keyspaces: Mapping[str, Keyspace]) -> list[str]:
    """Every way vschema/ and schema/ disagree; empty when they agree."""
    found: list[str] = []
    for ks in keyspaces.values():
        vtables: Mapping[str, Any] = ks.vschema.get("tables", {})
        vindexes: Mapping[str, Any] = ks.vschema.get("vindexes", {})
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
            if ks.sharded and not column_vindexes:
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
    lk_ks, lk = lookup_table(ks.name, vindex)
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


def lookup_table(keyspace: str, vindex: Mapping[str, Any]) -> tuple[str, str]:
    return _split(str(vindex.get("params", {}).get("table", "")), keyspace)


def apply_order(keyspaces: Mapping[str, Keyspace]) -> list[str]:
    """Unsharded keyspaces first: sharded VSchemas name their sequence and lookup tables."""
    return sorted(keyspaces, key=lambda k: (keyspaces[k].sharded, k))
