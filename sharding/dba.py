"""The DBA's one way to change the schema: schema/ + vschema/ are the desired state.

    dba plan   [--out plan.json] [--json]          diff the files against every shard of the live database
    dba apply  [--plan plan.json] [--allow-unsafe] [--postpone-completion] [--wait] [--json]
    dba status CONTEXT [--wait ready|complete] [--json]    online migrations of one apply, per shard
    dba complete|cancel|revert CONTEXT [--json]

(`stack/dba.sh` runs it with the local cluster's addresses.) On Vitess the live schema is read through
vtgate, shard by shard (`USE ks:shard`), the VSchema from vtctld; on plain MariaDB (`--backend
mariadb --database D`) from the one database. Exit codes are listed in `Exit`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

from sharding.plan import (
    REFUSED,
    UNSAFE,
    LiveKeyspace,
    LiveShard,
    Plan,
    Step,
    make_plan,
)
from sharding.schema import Keyspace, Table, parse_create, parse_tables

ROOT = Path(__file__).resolve().parent.parent


class Exit(IntEnum):
    OK = 0  # plan: nothing to change; apply: done; status: every migration complete
    ERROR = 1
    REFUSED = 2  # the plan has a refused step (drift, primary vindex, invalid files)
    UNSAFE = 3  # unsafe steps and no --allow-unsafe
    PENDING = 4  # plan: safe changes to apply; status: still running
    READY = 5  # status: postponed migrations ready to complete
    STALE = 6  # apply: the live schema changed since the plan was made
    FAILED = 7  # status: a migration failed or was cancelled
    UNKNOWN = 8  # status: no migration with that context


def load(schema_dir: Path, vschema_dir: Path) -> dict[str, Keyspace]:
    """Keyspaces from the folders (one schema/<ks>/ folder or vschema/<ks>.json each)."""
    names = {p.name for p in schema_dir.iterdir() if p.is_dir()}
    names |= {p.stem for p in vschema_dir.glob("*.json")}
    keyspaces = {}
    for name in sorted(names):
        folder = schema_dir / name
        ddl = "\n".join(p.read_text() for p in sorted(folder.glob("*.sql"))) if folder.is_dir() else ""
        vschema_file = vschema_dir / f"{name}.json"
        vschema = json.loads(vschema_file.read_text()) if vschema_file.exists() else {}
        keyspaces[name] = Keyspace(name, parse_tables(ddl), vschema)
    return keyspaces


@dataclass
class Target:
    backend: str  # vitess | mariadb
    host: str
    port: int
    user: str
    password: str
    database: str  # mariadb only
    vtctldclient: str
    server: str

    @contextmanager
    def sql(self, database: str | None = None) -> Iterator[pymysql.cursors.DictCursor]:
        conn = pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            autocommit=True,
            cursorclass=pymysql.cursors.DictCursor,
        )
        try:
            with conn.cursor() as cursor:
                yield cursor
        finally:
            conn.close()

    def vtctld(self, *command: str) -> str:
        done = subprocess.run(
            [self.vtctldclient, "--server", self.server, *command], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"vtctldclient {' '.join(command[:3])}: {done.stderr.strip()}")
        return done.stdout


def read_shard(cursor: pymysql.cursors.DictCursor) -> LiveShard:
    """Tables of the database the cursor uses (Vitess's own `_vt_*` artifacts left out)."""
    cursor.execute("SHOW FULL TABLES")
    names = [next(iter(r.values())) for r in cursor.fetchall() if r["Table_type"] == "BASE TABLE"]
    tables: dict[str, Table] = {}
    populated = set()
    for name in names:
        if name.startswith("_"):
            continue
        cursor.execute(f"SHOW CREATE TABLE `{name}`")
        tables[name] = parse_create(cursor.fetchone()["Create Table"])
        cursor.execute(f"SELECT 1 FROM `{name}` LIMIT 1")
        if cursor.fetchone():
            populated.add(name)
    cursor.execute("SHOW TABLE STATUS")
    rows = {r["Name"]: int(r["Rows"] or 0) for r in cursor.fetchall() if r["Name"] in tables}
    return LiveShard(tables, {n: max(rows.get(n, 0), n in populated) for n in tables}, populated)


def read_live(target: Target, desired: Mapping[str, Keyspace]) -> dict[str, LiveKeyspace]:
    if target.backend == "mariadb":
        with target.sql() as c:
            c.execute(f"CREATE DATABASE IF NOT EXISTS `{target.database}`")
            c.execute(f"USE `{target.database}`")
            return {target.database: LiveKeyspace(target.database, {"-": read_shard(c)})}
    with target.sql() as c:
        c.execute("SHOW VITESS_SHARDS")
        shards = [next(iter(r.values())).split("/") for r in c.fetchall()]
        live = {}
        for name in desired:
            names = sorted(s for ks, s in shards if ks == name)
            if not names:
                continue
            per_shard = {}
            for shard in names:
                c.execute(f"USE `{name}:{shard}`")
                per_shard[shard] = read_shard(c)
            vschema = json.loads(target.vtctld("GetVSchema", name) or "{}")
            live[name] = LiveKeyspace(name, per_shard, vschema, bool(vschema.get("sharded")))
    return live


def plan_now(target: Target, desired: Mapping[str, Keyspace]) -> Plan:
    return make_plan(target.backend, desired, read_live(target, desired))


# ---- apply ---------------------------------------------------------------------------------------


def apply(
    target: Target, desired: Mapping[str, Keyspace], plan: Plan, args: argparse.Namespace
) -> dict[str, Any]:
    """Run the plan's steps in order; returns what was done (context and migration uuids)."""
    context = f"dba-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S}-{plan.base[:8]}"
    done: dict[str, Any] = {"context": context, "migrations": {}, "steps": len(plan.steps)}
    if target.backend == "mariadb":
        with target.sql(target.database) as c:
            for step in plan.steps:
                for statement in [step.change, *step.payload.get("seeds", [])]:
                    c.execute(statement)
        return done
    lookups = [s for s in plan.steps if s.action == "lookup-vindex"]
    if lookups and args.postpone_completion:
        raise RuntimeError("a lookup vindex needs its column in place: apply without --postpone-completion")
    strategy = "vitess --postpone-completion" if args.postpone_completion else "vitess"
    # New tables first (unsharded keyspaces first: sharded VSchemas name their sequences), then the
    # VSchemas: additions in that order, removals in the reverse one (stop routing to a vindex before
    # its table goes), then the online ALTERs and DROPs.
    for step in plan.steps:
        if step.action == "create-table":
            _apply_schema(target, step.keyspace, [step.change, *step.payload.get("seeds", [])], "direct", "")
    vschemas = [s for s in plan.steps if s.action == "vschema"]
    removing = [s for s in vschemas if any(r.startswith("removes") or ": removes" in r for r in s.reasons)]
    for step in [s for s in vschemas if s not in removing] + removing[::-1]:
        _apply_vschema(target, step.keyspace, step.payload["vschema"])
    for ks in dict.fromkeys(s.keyspace for s in plan.steps):
        online = [
            s.change for s in plan.steps if s.keyspace == ks and s.action in ("alter-table", "drop-table")
        ]
        if online:
            done["migrations"][ks] = _apply_schema(target, ks, online, strategy, context)
    if lookups or args.wait:
        until = "ready" if args.postpone_completion else "complete"
        state = (
            wait_status(target, desired, context, until, args.timeout) if done["migrations"] else "complete"
        )
        if state != until:
            raise RuntimeError(f"migrations of {context} ended {state}: see `dba status {context}`")
        if until == "complete":
            _wait_vtgate_sees(target, plan.steps, args.timeout)
    for step in lookups:
        _lookup_vindex(target, step, args.timeout)
    return done


def _apply_schema(
    target: Target, keyspace: str, statements: Sequence[str], strategy: str, context: str
) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(";\n".join(statements) + ";\n")
        f.flush()
        extra = ["--migration-context", context] if context else []
        out = target.vtctld("ApplySchema", "--ddl-strategy", strategy, *extra, "--sql-file", f.name, keyspace)
    return [line.strip() for line in out.splitlines() if line.strip()]


def _apply_vschema(target: Target, keyspace: str, vschema: Mapping[str, Any]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(vschema, f)
        f.flush()
        target.vtctld("ApplyVSchema", "--dry-run", "--vschema-file", f.name, keyspace)
        target.vtctld("ApplyVSchema", "--vschema-file", f.name, keyspace)


def _wait_vtgate_sees(target: Target, steps: Sequence[Step], timeout: float) -> None:
    """vtgate's schema tracking lags an online ALTER by ~1 s: wait until it knows the new columns."""
    for step in steps:
        columns = step.payload.get("added", [])
        if not columns:
            continue
        query = f"SELECT {', '.join(columns)} FROM `{step.target}` LIMIT 0"
        _poll(
            timeout,
            f"vtgate to see {step.target}({', '.join(columns)})",
            lambda q=query, ks=step.keyspace: _runs(target, ks, q),
        )


def _runs(target: Target, keyspace: str, query: str) -> bool:
    try:
        with target.sql(keyspace) as c:
            c.execute(query)
        return True
    except pymysql.MySQLError:
        return False


def _poll(timeout: float, what: str, check: Any) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def _lookup_vindex(target: Target, step: Step, timeout: float) -> None:
    """LookupVindex create -> backfill -> externalize -> complete, then the files' exact VSchemas."""
    p = step.payload
    base = ["LookupVindex", "--name", step.target, "--table-keyspace", p["table_keyspace"]]
    create = [
        *base,
        "create",
        "--keyspace",
        step.keyspace,
        "--type",
        p["type"],
        "--table-owner",
        p["owner"],
        "--table-owner-columns",
        p["column"],
    ]
    target.vtctld(*create, *(["--ignore-nulls"] if p["ignore_nulls"] else []))

    def backfilled() -> bool:
        states = list(_values(json.loads(target.vtctld(*base, "show")), "state"))
        return bool(states) and all(s == "Running" for s in states)

    _poll(timeout, f"{step.target} backfill", backfilled)
    # externalize and complete look the vindex up in --keyspace (it defaults to the table keyspace)
    target.vtctld(*base, "externalize", "--keyspace", step.keyspace)
    target.vtctld(*base, "complete", "--keyspace", step.keyspace)
    for ks, vschema in p["vschemas"].items():
        _apply_vschema(target, ks, vschema)


def _values(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, Mapping):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                yield v
            else:
                yield from _values(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _values(v, key)


# ---- status, complete, cancel, revert --------------------------------------------------------------


def migrations(target: Target, desired: Mapping[str, Keyspace], context: str) -> list[dict[str, Any]]:
    """SHOW VITESS_MIGRATIONS of one context, one row per migration per shard (_vt is not readable
    through vtgate)."""
    rows = []
    with target.sql() as c:
        for ks in desired:
            try:
                c.execute(f"SHOW VITESS_MIGRATIONS FROM `{ks}` LIKE %s", (context,))
            except pymysql.MySQLError:
                continue  # a keyspace without tablets
            for r in c.fetchall():
                rows.append(
                    {
                        "uuid": r["migration_uuid"],
                        "keyspace": r["keyspace"],
                        "shard": r["shard"],
                        "table": r["mysql_table"],
                        "status": r["migration_status"],
                        "progress": float(r["progress"] or 0),
                        "eta_seconds": int(r["eta_seconds"] or -1),
                        "ready_to_complete": bool(int(r["ready_to_complete"] or 0)),
                        "postponed": bool(int(r["postpone_completion"] or 0)),
                        "rows_copied": int(r["rows_copied"] or 0),
                        "table_rows": int(r["table_rows"] or 0),
                        "started": str(r["started_timestamp"] or ""),
                        "completed": str(r["completed_timestamp"] or ""),
                        "statement": r["migration_statement"],
                        "message": r["message"] or "",
                    }
                )
    return sorted(rows, key=lambda r: (r["started"] or "~", r["keyspace"], r["uuid"], r["shard"]))


def state_of(rows: Sequence[Mapping[str, Any]]) -> str:
    statuses = {r["status"] for r in rows}
    if not rows:
        return "unknown"
    if statuses & {"failed", "cancelled"}:
        return "failed"
    if statuses == {"complete"}:
        return "complete"
    waiting = [r for r in rows if r["status"] != "complete"]
    if all(r["postponed"] and r["ready_to_complete"] for r in waiting):
        return "ready"
    return "running"


EXIT_OF_STATE = {
    "complete": Exit.OK,
    "running": Exit.PENDING,
    "ready": Exit.READY,
    "failed": Exit.FAILED,
    "unknown": Exit.UNKNOWN,
}


def wait_status(
    target: Target, desired: Mapping[str, Keyspace], context: str, until: str, timeout: float
) -> str:
    finals = {until, "failed", "complete"}
    return str(
        _poll(
            timeout,
            f"{context} to be {until}",
            lambda: (s := state_of(migrations(target, desired, context))) in finals and s,
        )
    )


def control(target: Target, desired: Mapping[str, Keyspace], context: str, verb: str) -> list[str]:
    """COMPLETE or CANCEL every pending migration of the context; REVERT every completed one (newest
    first). Returns the uuids acted on (for revert: the reverts' own uuids, context <context>-revert)."""
    rows = migrations(target, desired, context)
    uuids = list(dict.fromkeys((r["uuid"], r["keyspace"]) for r in rows))
    out = []
    if verb == "revert":  # through vtctld: vtgate's REVERT ignores @@migration_context
        for uuid, ks in reversed(uuids):
            if all(r["status"] == "complete" for r in rows if r["uuid"] == uuid):
                statement = f"REVERT VITESS_MIGRATION '{uuid}'"
                out += _apply_schema(target, ks, [statement], "vitess", f"{context}-revert")
        return out
    with target.sql() as c:
        for uuid, ks in uuids:
            if any(r["status"] not in ("complete", "failed", "cancelled") for r in rows if r["uuid"] == uuid):
                c.execute(f"USE `{ks}`")
                c.execute(f"ALTER VITESS_MIGRATION '{uuid}' {verb.upper()}")
                out.append(uuid)
    return out


# ---- the command ---------------------------------------------------------------------------------


def show_plan(plan: Plan) -> str:
    if not plan.steps:
        return f"plan {plan.base}: the live schema matches schema/ and vschema/, nothing to do"
    lines = [f"plan {plan.base} ({plan.backend}), {len(plan.steps)} step(s), overall {plan.severity}:"]
    for i, s in enumerate(plan.steps, 1):
        lines.append(
            f"{i:>3}. [{s.severity}] {s.keyspace}: {s.action} {s.target} via {s.strategy}, ~{s.rows} rows"
        )
        lines.append(f"       {s.change}")
        lines += [f"       - {r}" for r in s.reasons if r != s.change]
    return "\n".join(lines)


def verdict(plan: Plan, allow_unsafe: bool) -> Exit:
    if plan.severity == REFUSED:
        return Exit.REFUSED
    if plan.severity == UNSAFE and not allow_unsafe:
        return Exit.UNSAFE
    return Exit.OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dba", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["plan", "apply", "status", "complete", "cancel", "revert"])
    parser.add_argument("context", nargs="?", help="the migration context apply printed")
    parser.add_argument("--schema", type=Path, default=ROOT / "schema")
    parser.add_argument("--vschema", type=Path, default=ROOT / "vschema")
    parser.add_argument("--backend", choices=["vitess", "mariadb"], default="vitess")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=15307, help="vtgate's (or MariaDB's) MySQL port")
    parser.add_argument("--user", default="vidstore")
    parser.add_argument("--database", default="vidstore", help="plain MariaDB: the one database")
    parser.add_argument("--vtctldclient", default="vtctldclient")
    parser.add_argument("--server", default="127.0.0.1:15411", help="vtctld gRPC address")
    parser.add_argument("--out", type=Path, help="plan: write the plan here (for apply --plan)")
    parser.add_argument("--plan", type=Path, help="apply: this plan, refused if the live schema changed")
    parser.add_argument("--allow-unsafe", action="store_true")
    parser.add_argument("--postpone-completion", action="store_true")
    parser.add_argument("--wait", nargs="?", const="complete", choices=["complete", "ready"])
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    target = Target(
        args.backend,
        args.host,
        args.port,
        args.user,
        os.environ.get("VIDSTORE_DB_PASSWORD", ""),
        args.database,
        args.vtctldclient,
        args.server,
    )
    desired = load(args.schema, args.vschema)

    def say(data: Any, text: str) -> None:
        print(json.dumps(data, default=str) if args.json else text)

    try:
        if args.command == "plan":
            plan = plan_now(target, desired)
            if args.out:
                args.out.write_text(json.dumps(plan.to_json(), indent=1))
            say(plan.to_json(), show_plan(plan))
            code = verdict(plan, allow_unsafe=False)
            return int(Exit.PENDING if code == Exit.OK and plan.steps else code)
        if args.command == "apply":
            plan = plan_now(target, desired)
            if args.plan:
                wanted = Plan.from_json(json.loads(args.plan.read_text()))
                if wanted.base != plan.base:
                    say(
                        {"error": "stale", "plan": wanted.base, "live": plan.base},
                        f"!! the live schema changed since plan {wanted.base} (now {plan.base}): plan again",
                    )
                    return int(Exit.STALE)
            code = verdict(plan, args.allow_unsafe)
            if code != Exit.OK:
                say(
                    {"error": code.name.lower(), **plan.to_json()},
                    show_plan(plan)
                    + f"\n!! not applied: {code.name.lower()}"
                    + (" (use --allow-unsafe)" if code == Exit.UNSAFE else ""),
                )
                return int(code)
            if not plan.steps:
                say({"context": None, "migrations": {}, "steps": 0}, show_plan(plan))
                return int(Exit.OK)
            done = apply(target, desired, plan, args)
            say(
                done,
                show_plan(plan)
                + (
                    f"\n>> applied, migration context {done['context']}"
                    if done["migrations"]
                    else "\n>> applied"
                )
                + "".join(f"\n   {ks}: {' '.join(u)}" for ks, u in done["migrations"].items()),
            )
            return int(Exit.OK)
        if not args.context:
            parser.error(f"{args.command} needs the migration context apply printed")
        if args.command == "status":
            if args.wait:
                wait_status(target, desired, args.context, args.wait, args.timeout)
            rows = migrations(target, desired, args.context)
            state = state_of(rows)
            text = [f"{args.context}: {state}"] + [
                f"  {r['keyspace']}/{r['shard']} {r['table']} {r['uuid']} {r['status']}"
                f" {r['progress']:.0f}% eta {r['eta_seconds']}s rows {r['rows_copied']}/{r['table_rows']}"
                + (" ready to complete" if r["ready_to_complete"] and r["status"] != "complete" else "")
                + (f" ({r['message']})" if r["message"] else "")
                for r in rows
            ]
            say({"context": args.context, "state": state, "migrations": rows}, "\n".join(text))
            return int(EXIT_OF_STATE[state])
        acted = control(target, desired, args.context, args.command)
        say(
            {"context": args.context, "action": args.command, "uuids": acted},
            f">> {args.command}: {' '.join(acted) or 'nothing to do'}"
            + (f" (context {args.context}-revert)" if args.command == "revert" and acted else ""),
        )
        return int(Exit.OK if acted else Exit.UNKNOWN)
    except (RuntimeError, pymysql.MySQLError) as e:
        say({"error": str(e)}, f"!! {e}")
        return int(Exit.ERROR)


if __name__ == "__main__":
    sys.exit(main())
