"""The DBA's command for schema/ and vschema/:

    python -m sharding.dba check                      validate only (no cluster needed)
    python -m sharding.dba apply [--dry-run] ...      validate, then ApplySchema + ApplyVSchema per keyspace

Applying goes through vtctld (`vtctldclient`), unsharded keyspaces first. --dry-run validates, asks
vtctld to dry-run each VSchema, and prints the DDL it would send, changing nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from sharding.schema import Keyspace, apply_order, parse_tables, problems

ROOT = Path(__file__).resolve().parent.parent


def load(schema_dir: Path, vschema_dir: Path) -> dict[str, Keyspace]:
    names = {p.name for p in schema_dir.iterdir() if p.is_dir()}
    names |= {p.stem for p in vschema_dir.glob("*.json")}
    keyspaces = {}
    for name in sorted(names):
        ddl = ddl_of(schema_dir / name)
        vschema_file = vschema_dir / f"{name}.json"
        vschema = json.loads(vschema_file.read_text()) if vschema_file.exists() else {}
        keyspaces[name] = Keyspace(name, parse_tables(ddl), vschema)
    return keyspaces


def ddl_of(folder: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.glob("*.sql"))) if folder.is_dir() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sharding.dba")
    parser.add_argument("command", choices=["check", "apply"])
    parser.add_argument("--schema", type=Path, default=ROOT / "schema")
    parser.add_argument("--vschema", type=Path, default=ROOT / "vschema")
    parser.add_argument("--vtctldclient", default="vtctldclient")
    parser.add_argument("--server", default="127.0.0.1:15411", help="vtctld gRPC address")
    parser.add_argument("--ddl-strategy", default="direct", help="e.g. direct, vitess, mysql")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)

    keyspaces = load(args.schema, args.vschema)
    found = problems(keyspaces)
    for problem in found:
        print(f"!! {problem}", file=sys.stderr)
    if found:
        return 1
    summary = ", ".join(f"{k} ({len(v.tables)} tables)" for k, v in keyspaces.items())
    print(f">> schema/ and vschema/ agree: {summary}")
    if args.command == "check":
        return 0

    def vtctld(*command: str) -> None:
        command_line = [args.vtctldclient, "--server", args.server, *command]
        subprocess.run(command_line, check=True, stdout=subprocess.DEVNULL)

    for name in apply_order(keyspaces):
        ddl = ddl_of(args.schema / name)
        vschema_file = str(args.vschema / f"{name}.json")
        if args.dry_run:
            print(f">> {name}: would apply ({args.ddl_strategy}):\n{ddl}")
            vtctld("ApplyVSchema", "--dry-run", "--vschema-file", vschema_file, name)
            print(f">> {name}: vschema dry-run accepted by vtctld")
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as sql:
            sql.write(ddl)
            sql.flush()
            vtctld("ApplySchema", "--ddl-strategy", args.ddl_strategy, "--sql-file", sql.name, name)
        vtctld("ApplyVSchema", "--vschema-file", vschema_file, name)
        print(f">> {name}: schema and vschema applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
