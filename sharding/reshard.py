"""Live resharding of the local cluster by one command (`make reshard KEYSPACE=vidstore TO=...`):

    python -m sharding.reshard vidstore --to=-40,40-80,80-c0,c0- [--dry-run | --reverse | --abort]
    python -m sharding.reshard vidstore_idx --move-tables video_lookup   (`make move-lookup`)

Steps, each skipped when Vitess (or the layout file) shows it done, so an interrupted run carries on
where it stopped when started again:
  1 provision  a MariaDB primary + GTID replica and two vttablets per new shard (stack/vitess scripts),
               the primary named (TabletExternallyReparented); the layout file lists them at once
  2 create     `Reshard create` (copies schema and rows from the source shards)
  3 copy       wait for the copy phase, printing rows copied / total and the streams' lag
  4 vdiff      VDiff, which must come back clean before traffic moves
  5 reads      switch replica/rdonly reads
  6 writes     switch primary writes (vtgate buffers the writes meanwhile)
  7 complete   `Reshard complete`
  8 retire     stop the old shards' vttablets and MariaDB, delete their data and tablet records
--until STEP stops after a step (to look before traffic moves). --reverse puts traffic back on the old
shards (before complete); --abort also cancels the workflow
and retires the new shards. A report (copy, VDiff and cutover times, rows moved) is printed and
written to .data/reports/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from sharding.layout import Plan, Tablet, allocate, format_layout, parse_layout, resume_plan
from sharding.probe import CutoverProbe, probe_target

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("VIDSTORE_DATA", ROOT / ".data"))
LAYOUT = DATA / "vitess" / "tablets"
CELL = "zone1"
STEPS = ("provision", "create", "copy", "vdiff", "reads", "writes", "complete", "retire")
ONLINE_DDL = 5  # binlogdata.VReplicationWorkflowType.OnlineDDL
# VReplication retries a failing stream by itself, except after an error it calls terminal: a
# table-GC rename on the source (the online DDL migrations released before the reshard) can fail
# one for good ("in Engine.reload(), reading table _vt_hld_...: unable to get columns"), although
# the table is gone a moment later. So a stream in Error for RESTART_AFTER_SECONDS is started again
# (`<kind> start`, from its saved position: nothing copied twice), every RESTART_AFTER_SECONDS;
# only a stream failing for STREAM_ERROR_SECONDS stops the command.
RESTART_AFTER_SECONDS = 10
STREAM_ERROR_SECONDS = 120


def alias(uid: int) -> str:
    return f"{CELL}-{uid:010d}"


@dataclass
class Vitess:
    """vtctldclient against the cluster's vtctld, and the stack scripts that start tablets."""

    vtctldclient: str
    server: str
    vtgate: str = "127.0.0.1:15307"  # its MySQL port: which tablets it routes to
    dry_run: bool = False

    @property
    def sql_address(self) -> tuple[str, int]:
        host, _, port = self.vtgate.rpartition(":")
        return host, int(port)

    @property
    def sql_password(self) -> str:
        return os.environ.get("VIDSTORE_DB_PASSWORD", "")

    def run(self, *args: str, quiet: bool = False) -> str:
        if self.dry_run:
            print(f"   would run: vtctldclient {' '.join(args)}")
            return ""
        done = subprocess.run(
            [self.vtctldclient, "--server", self.server, *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"vtctldclient {' '.join(args)} failed: {done.stderr.strip()}")
        if not quiet and done.stdout.strip():
            print("   " + done.stdout.strip().replace("\n", "\n   "))
        return done.stdout

    def run_retrying(
        self, transient: str | tuple[str, ...], *args: str, seconds: float = 90, quiet: bool = False
    ) -> None:
        """`run`, again every second for up to `seconds` while it fails with a `transient` error."""
        transients = (transient,) if isinstance(transient, str) else transient
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.run(*args, quiet=quiet)
                return
            except RuntimeError as exc:
                if not any(t in str(exc) for t in transients) or time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def read(self, *args: str) -> Any:
        """A read-only call (also made in a dry run); its JSON answer, or None when refused."""
        done = subprocess.run(
            [self.vtctldclient, "--server", self.server, *args], capture_output=True, text=True
        )
        return json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None

    def scripts(self, *calls: list[str]) -> None:
        """Stack scripts run side by side (each waits for its server's health); all must succeed."""
        for call in calls:
            if self.dry_run:
                print(f"   would run: bash stack/vitess/{' '.join(call)}")
        if self.dry_run:
            return
        running = [subprocess.Popen(["bash", f"stack/vitess/{c[0]}", *c[1:]], cwd=ROOT) for c in calls]
        failed = [" ".join(c) for c, p in zip(calls, running, strict=True) if p.wait() != 0]
        if failed:
            raise RuntimeError(f"failed: {failed}")

    def shell(self, command: str) -> None:
        """A line of shell with stack/vitess/env.sh loaded (its helpers: sql, stop_pidfile ...)."""
        if self.dry_run:
            print(f"   would run: {command}")
            return
        subprocess.run(["bash", "-c", f"source stack/vitess/env.sh\n{command}"], cwd=ROOT, check=True)

    # --- what Vitess says -------------------------------------------------------------------------
    def shards(self, keyspace: str) -> dict[str, bool]:
        """Every shard of the keyspace in the topology -> whether its primary serves."""
        found = (self.read("FindAllShardsInKeyspace", keyspace) or {}).get("shards", {})
        return {name: bool(s["shard"].get("is_primary_serving")) for name, s in found.items()}

    def status(self, kind: str, keyspace: str, workflow: str) -> dict[str, Any] | None:
        found = self.read(
            kind, "--target-keyspace", keyspace, "--workflow", workflow, "status", "--format=json"
        )
        return found if isinstance(found, dict) else None


@dataclass
class Report:
    keyspace: str
    source: list[str]
    target: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    rows_copied: int = 0  # as the copy phase reported it (small tables finish between two polls)
    rows_moved: int = 0  # rows in the moved key range when VDiff compared them
    vdiff: dict[str, Any] = field(default_factory=dict)
    cutover: dict[str, Any] = field(default_factory=dict)  # the write pause and errors a client saw

    def timed(self, step: str, action: Callable[[], None]) -> None:
        started = time.monotonic()
        action()
        self.seconds[step] = round(self.seconds.get(step, 0) + time.monotonic() - started, 2)

    def write(self) -> Path:
        text = json.dumps(self.__dict__, indent=2)
        print(">> reshard report\n" + text)
        folder = DATA / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"reshard-{self.keyspace}-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(text + "\n")
        (folder / f"reshard-{self.keyspace}-last.json").write_text(text + "\n")
        return path


def read_layout() -> list[Tablet]:
    if LAYOUT.exists():
        return parse_layout(LAYOUT.read_text())
    # No reshard yet: env.sh's built-in layout, printed by the shell that owns it.
    out = subprocess.run(
        ["bash", "-c", 'source stack/vitess/env.sh && printf "%s\\n" "${TABLETS[@]}"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_layout(out)


def write_layout(tablets: list[Tablet], dry_run: bool) -> None:
    if dry_run:
        print("   would write the layout file:\n" + format_layout(tablets).rstrip())
        return
    LAYOUT.parent.mkdir(parents=True, exist_ok=True)
    partial = LAYOUT.with_suffix(".partial")
    partial.write_text("# uid keyspace shard role: written by sharding.reshard\n" + format_layout(tablets))
    partial.replace(LAYOUT)


def wait_for(done: Callable[[], bool], seconds: float, failure: str, every: float = 1.0) -> None:
    """Poll `done` every `every` seconds until it holds; RuntimeError(failure) after `seconds`."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(failure)
        time.sleep(every)


def primaries(keyspace: str, shards: list[str] | None = None) -> list[int]:
    """The uids of the keyspace's primaries (of `shards` only, if given), as the layout lists them."""
    return [
        t.uid
        for t in read_layout()
        if t.keyspace == keyspace and t.role == "primary" and (shards is None or t.shard in shards)
    ]


def traffic(status: dict[str, Any] | None) -> tuple[bool, bool]:
    """(reads switched, writes switched) from a workflow status' traffic_state."""
    state = str((status or {}).get("traffic_state", ""))
    return "All Reads Switched" in state, "Writes Switched" in state and "Not Switched" not in state.split(
        "Writes"
    )[-1]


@dataclass(frozen=True)
class CopyProgress:
    """Where a workflow's copy phase stands, from its status (`Workflow status --format json`)."""

    copied: int
    total: int
    states: list[str]
    lag: int
    done: bool
    failing: list[str]  # what each stream in Error says

    @classmethod
    def of(cls, status: dict[str, Any]) -> CopyProgress:
        tables = status.get("table_copy_state") or {}
        streams = [s for shard in (status.get("shard_streams") or {}).values() for s in shard["streams"]]
        lags = re.findall(r"VStream Lag: (-?\d+)s", " ".join(str(s.get("info", "")) for s in streams))
        # Just after `create` a stream is Running with no copy state and no position, before it
        # starts copying: only a stream that has a position has copied and is replicating.
        replicating = all(s.get("status") == "Running" and s.get("position") for s in streams)
        return cls(
            copied=sum(int(t.get("rows_copied", 0)) for t in tables.values()),
            total=sum(int(t.get("rows_total", 0)) for t in tables.values()),
            states=sorted({str(s.get("status")) for s in streams}),
            lag=max((int(x) for x in lags), default=0),
            done=bool(streams) and not tables and replicating,
            failing=[str(s.get("info", ""))[:300] for s in streams if s.get("status") == "Error"],
        )

    def line(self) -> str:
        bar = "#" * (30 * self.copied // self.total) if self.total else ""
        states = ",".join(self.states) or "?"
        return f"   [{bar:<30}] {self.copied}/{self.total} rows, streams {states}, lag {self.lag}s"


class Resharder:
    def __init__(self, vt: Vitess, keyspace: str, target: list[str]) -> None:
        self.vt = vt
        self.keyspace = keyspace
        old = [t.shard for t in read_layout() if t.keyspace == keyspace and t.shard not in target]
        self.plan = resume_plan(keyspace, vt.shards(keyspace), target, old)
        self.report = Report(keyspace, self.plan.sources, self.plan.new)

    kind = "Reshard"

    @property
    def workflow(self) -> str:
        return self.plan.workflow

    @property
    def flags(self) -> list[str]:
        return ["--target-keyspace", self.keyspace, "--workflow", self.workflow]

    def before_complete(self) -> None:
        """What must change before `complete` drops the source side (nothing, for a reshard)."""

    def step(self, n: int, name: str, what: str) -> None:
        print(f">> [{n}/8] {name}: {what}", flush=True)

    def run(self, until: str = STEPS[-1]) -> int:
        p = self.plan
        print(f">> {p.keyspace}: {','.join(p.current)} -> {','.join(p.target)} (workflow {self.workflow})")
        status = self.vt.status(self.kind, self.keyspace, self.workflow) if p.new else None
        reads, writes = traffic(status)
        exists, moving = status is not None, bool(p.new)
        steps: list[tuple[str, bool, Callable[[], None]]] = [
            ("provision", moving and not exists, self.provision),
            ("create", moving and not exists, self.create),
            ("copy", moving and not writes, self.copy),
            ("vdiff", moving and not writes, self.vdiff),
            ("reads", moving and not reads, lambda: self.switch("rdonly,replica")),
            ("writes", moving and not writes, self.switch_writes),
            ("complete", moving, self.complete),
            ("retire", True, lambda: self.retire(p.sources)),
        ]
        for n, (name, needed, action) in enumerate(steps, 1):
            if needed:
                self.report.timed(name, action)
            else:
                self.step(n, name, "done already")
            if name == until and until != STEPS[-1]:
                print(f">> stopped after {name} (--until): run again without it to carry on")
                break
        if not self.vt.dry_run:
            self.report.write()
        return 0

    # --- the steps ----------------------------------------------------------------------------------
    def provision(self) -> None:
        tablets = read_layout()
        present = {t.shard for t in tablets if t.keyspace == self.keyspace}
        new = [t for t in tablets if t.keyspace == self.keyspace and t.shard in self.plan.new]
        new += allocate(tablets, self.keyspace, [s for s in self.plan.new if s not in present])
        self.step(1, "provision", ", ".join(f"{t.shard}:{t.uid}({t.role})" for t in new))
        # Listed before they start, so cluster-down stops them even if this run dies half-way.
        write_layout(tablets + [t for t in new if t not in tablets], self.vt.dry_run)
        primaries = {t.shard: t.uid for t in new if t.role == "primary"}
        self.vt.scripts(*(["mysql-up.sh", str(u), "primary"] for u in primaries.values()))
        for uid in primaries.values():
            self.vt.shell(f'sql {uid} -e "CREATE DATABASE IF NOT EXISTS \\`{self.keyspace}\\`"')
        replicas = [t for t in new if t.role == "replica"]
        self.vt.scripts(*(["mysql-up.sh", str(t.uid), "replica", str(primaries[t.shard])] for t in replicas))
        self.vt.scripts(*(["vttablet-up.sh", str(t.uid), self.keyspace, t.shard] for t in new))
        for t in new:
            if t.role == "primary":
                self.vt.run("TabletExternallyReparented", alias(t.uid))

    def create_args(self) -> list[str]:
        return ["--source-shards", ",".join(self.plan.sources), "--target-shards", ",".join(self.plan.new)]

    def create(self) -> None:
        self.step(2, "create", f"{self.kind} create {' '.join(self.create_args())}")
        self.release_stopped_streams()
        # A new primary's VReplication engine opens a few seconds after it is named; and the table
        # GC the release started renames tables on the source, which fails the schema copy of a
        # `create` that reads one as it goes ("unable to get columns for table _vt_hld_..."; nothing
        # is created then: the copy comes first).
        create = [self.kind, *self.flags, "create", *self.create_args()]
        self.vt.run_retrying(("vreplication engine is closed", "unable to get columns for table"), *create)

    def copy(self) -> None:
        """Wait until every stream has left the copy phase, printing progress."""
        self.step(3, "copy", "rows copied / total, streams' lag")
        if self.vt.dry_run:
            return
        deadline, tty = time.monotonic() + 3600, sys.stdout.isatty()
        failing_since: float | None = None
        restarted = 0.0
        while True:
            status = self.vt.status(self.kind, self.keyspace, self.workflow) or {}
            progress = CopyProgress.of(status)
            print(("\r" + progress.line()) if tty else progress.line(), end="" if tty else "\n", flush=True)
            self.report.rows_copied = max(self.report.rows_copied, progress.copied)
            if progress.done:
                print("" if not tty else "\n", end="")
                return
            if not progress.failing:
                failing_since = None
            elif failing_since is None:
                failing_since = time.monotonic()
                print(f"   a stream is failing (VReplication retries it): {progress.failing[0]}", flush=True)
            elif time.monotonic() - failing_since > STREAM_ERROR_SECONDS:
                raise RuntimeError(f"a stream failed for {STREAM_ERROR_SECONDS} s: {progress.failing}")
            elif time.monotonic() - max(failing_since, restarted) > RESTART_AFTER_SECONDS:
                print("   the stream stays in Error: starting the workflow's streams again", flush=True)
                try:
                    self.vt.run(self.kind, *self.flags, "start", quiet=True)
                except RuntimeError as exc:  # the limit above still stops the command
                    print(f"   {exc}", flush=True)
                restarted = time.monotonic()
            if time.monotonic() > deadline:
                raise RuntimeError("copy did not finish in an hour")
            time.sleep(1)

    def vdiff(self) -> None:
        self.step(4, "vdiff", "compare source and target rows; must be clean before traffic moves")
        vdiff = ["VDiff", *self.flags]
        running = not self.vt.dry_run and (self.vt.read(*vdiff, "show", "last", "--format=json") or {}).get(
            "State"
        ) in ("pending", "started")
        if running:  # a diff an interrupted run started: wait for it rather than start a second one
            print("   a VDiff is already running: waiting for it")
        else:
            # A stream that has just restarted (after a transient error) is briefly not Running; a
            # table-GC rename on the source can fail the diff's schema read (as it can `create`).
            transient = ("not all streams are running", "unable to get columns for table")
            self.vt.run_retrying(transient, *vdiff, "create", seconds=60, quiet=True)
        if self.vt.dry_run:
            return
        # Polled here: `create --wait` reports only every --wait-update-interval, long after the end.
        deadline = time.monotonic() + 1800
        while True:
            last = self.vt.read(*vdiff, "show", "last", "--format=json") or {}
            if last.get("State") in ("completed", "error") or time.monotonic() > deadline:
                break
            print(
                f"   vdiff {last.get('State', '?')}: {last.get('RowsCompared', 0)} rows compared", flush=True
            )
            time.sleep(1)
        self.report.vdiff = {k: last.get(k) for k in ("State", "RowsCompared", "HasMismatch")}
        self.report.rows_moved = int(last.get("RowsCompared") or 0)
        print(f"   {self.report.vdiff}")
        if last.get("State") != "completed" or last.get("HasMismatch"):
            raise RuntimeError(f"VDiff not clean, traffic stays where it is: {json.dumps(last)}")

    def wait_vtgate(self) -> None:
        """vtgate must know the new primaries before writes move (it refreshes every 5 s), otherwise
        the switch leaves writes with nowhere to go until its next refresh."""
        if self.vt.dry_run:
            return
        wait_for(
            self._vtgate_knows_new_primaries, 60, "vtgate does not list the new primaries after 60 s", 0.5
        )

    def _vtgate_knows_new_primaries(self) -> bool:
        host, port = self.vt.sql_address
        conn = pymysql.connect(host=host, port=port, user="vidstore", password=self.vt.sql_password)
        with conn, conn.cursor() as cur:
            cur.execute("SHOW VITESS_TABLETS")
            listed = {(row[1], row[2], row[3]) for row in cur.fetchall()}
        return all((self.keyspace, s, "PRIMARY") in listed for s in self.plan.new)

    def switch_writes(self) -> None:
        self.release_stopped_streams()  # a migration that completed during the copy
        self.wait_vtgate()
        target = None if self.vt.dry_run else probe_target(self.vt.read("GetVSchema", self.keyspace) or {})
        if target is None:  # a dry run, or no xxhash-routed table to aim a probe with
            self.switch("primary")
            return
        host, port = self.vt.sql_address
        probe = CutoverProbe(host, port, self.vt.sql_password, self.keyspace, *target, shards=self.plan.new)
        with probe:
            self.switch("primary")
        self.report.cutover = probe.result()
        seen = self.report.cutover
        print(
            f"   a probe client ({target[0]} by {target[1]}, each new range every 50 ms) saw a longest "
            f"pause of {seen['longest_pause_s']} s and {seen['errors']} errors"
        )

    def source_primaries(self) -> tuple[str, list[int]]:
        """The keyspace the rows come from, and the uids of its primaries that this workflow reads."""
        return self.keyspace, primaries(self.keyspace, self.plan.sources)

    def stopped_streams(self) -> list[tuple[int, str, int]]:
        """(uid, workflow, type) of every stopped stream on the source primaries other than this
        workflow's reverse: SwitchTraffic refuses to move writes past one ("cannot migrate until
        all streams are running")."""
        if self.vt.dry_run:
            return []
        keyspace, uids = self.source_primaries()
        # vtctldclient takes the statement whole: names go in only as Vitess allows them.
        if not (re.fullmatch(r"\w+", keyspace) and re.fullmatch(r"\w+", self.workflow)):
            raise ValueError(
                f"not a keyspace or workflow name Vitess allows: {keyspace!r}, {self.workflow!r}"
            )
        query = (
            "SELECT workflow, workflow_type FROM _vt.vreplication WHERE state = 'Stopped' AND "
            f"message != 'FROZEN' AND db_name = '{keyspace}' AND workflow != '{self.workflow}_reverse'"
        )
        found = []
        for uid in uids:
            answer = self.vt.read("ExecuteFetchAsDBA", "--json", alias(uid), query) or {}
            found += [(uid, str(name), int(kind)) for name, kind in answer.get("rows") or []]
        return found

    def release_stopped_streams(self) -> None:
        """A completed online DDL migration keeps a stopped stream on every shard it ran on, so that
        it can be reverted; Vitess will not switch a reshard's writes past it. The shards it ran on
        are retired by this reshard, so no revert could run after it anyway: the keyspace's finished
        migrations are released (`OnlineDDL cleanup`; Vitess then collects their tables too). Any
        other stopped stream is the operator's to start or delete: the command stops and names it."""
        stopped = self.stopped_streams()
        if any(kind == ONLINE_DDL for _, _, kind in stopped):
            migrations = sorted({name for _, name, kind in stopped if kind == ONLINE_DDL})
            keyspace = self.source_primaries()[0]
            print(
                f"   releasing {len(migrations)} finished online DDL migration(s) of {keyspace}: their "
                "stopped streams would block the write switch, and their shards are being retired"
            )
            self.vt.run("OnlineDDL", "cleanup", keyspace, "all", quiet=True)
            wait_for(
                lambda: all(kind != ONLINE_DDL for _, _, kind in self.stopped_streams()),
                120,
                "online DDL streams still there 120 s after OnlineDDL cleanup",
            )
            stopped = self.stopped_streams()
        if stopped:
            raise RuntimeError(
                f"stopped streams on the source primaries block the write switch: {stopped}; "
                "start or delete them (vtctldclient Workflow ...), then run the same command again"
            )

    def switch(self, types: str) -> None:
        n, name = (5, "reads") if types != "primary" else (6, "writes")
        self.step(n, name, f"SwitchTraffic --tablet-types {types}")
        self.vt.run(self.kind, *self.flags, "switchtraffic", "--tablet-types", types, "--timeout", "30s")

    def complete(self) -> None:
        self.step(7, "complete", f"{self.kind} complete (the source side leaves the topology)")
        self.before_complete()
        self.vt.run(self.kind, *self.flags, "complete")

    def retire(self, shards: list[str]) -> None:
        """Stop and delete the tablets of `shards` (after complete, or of the new ones on abort)."""
        tablets = read_layout()
        gone = [t for t in tablets if t.keyspace == self.keyspace and t.shard in shards]
        self.step(8, "retire", ", ".join(f"{t.shard}:{t.uid}" for t in gone) or "nothing left")
        # In parallel: a vttablet drains for seconds before it exits; then its MariaDB and its data go.
        stops = [f'stop_pidfile "$VT_DATA/run/vttablet-{t.uid}.pid" "vttablet {t.uid}" &' for t in gone]
        mysqls = [
            f'{{ stop_pidfile "$(mysql_dir {u})/mysql.pid" "mariadb {u}"; rm -rf "$(mysql_dir {u})"; }} &'
            for u in (t.uid for t in gone)
        ]
        if gone:
            self.vt.shell(" ".join(stops) + " wait; " + " ".join(mysqls) + " wait")
            # `complete` deletes the old shards' tablet records; after an abort they are still there.
            for t in gone:
                try:
                    self.vt.run("DeleteTablets", "--allow-primary", alias(t.uid), quiet=True)
                except RuntimeError as exc:
                    if "doesn't exist" not in str(exc):
                        raise
            write_layout([t for t in tablets if t not in gone], self.vt.dry_run)

    def reverse(self, abort: bool) -> int:
        status = self.vt.status(self.kind, self.keyspace, self.workflow)
        if status is None and abort:  # stopped before `create`: only provisioned tablets to remove
            print(f">> no workflow {self.workflow} on {self.keyspace}: removing what was provisioned")
            self._remove_new_shards()
            return 0
        if status is None:
            print(f"!! no workflow {self.workflow} on {self.keyspace}: nothing to reverse")
            return 1
        reads, writes = traffic(status)
        if reads or writes:
            # Reads alone switched: no reverse workflow exists yet, so only those tablet types go back.
            types = "rdonly,replica,primary" if writes else "rdonly,replica"
            print(f">> ReverseTraffic ({types}) back to " + ",".join(self.plan.sources))
            self.vt.run(self.kind, *self.flags, "reversetraffic", "--tablet-types", types, "--timeout", "30s")
        if abort:
            print(">> cancel: the workflow and the new shards go away")
            self.vt.run(self.kind, *self.flags, "cancel")
            self._remove_new_shards()
        return 0

    def _remove_new_shards(self) -> None:
        self.retire(self.plan.new)
        for shard in self.plan.new:
            try:
                self.vt.run("DeleteShards", "--recursive", "--even-if-serving", f"{self.keyspace}/{shard}")
            except RuntimeError as exc:
                if "node doesn't exist" not in str(exc) and "not found" not in str(exc).lower():
                    raise


class TableMover(Resharder):
    """MoveTables of `tables` from an unsharded keyspace into a sharded one, with the same steps:
    the target keyspace's tablets (its shards as the layout lists them, or "-"), its VSchema from
    vschema/, copy, VDiff, reads, writes, then the keyspaces whose VSchemas name the moved tables
    (a lookup vindex's `table`) re-applied from vschema/ before `complete` drops the source table."""

    kind = "MoveTables"

    def __init__(self, vt: Vitess, source: str, keyspace: str, tables: list[str], repoint: list[str]) -> None:
        self.vt, self.source, self.keyspace, self.tables, self.repoint = vt, source, keyspace, tables, repoint
        listed = sorted({t.shard for t in read_layout() if t.keyspace == keyspace}) or ["-"]
        # Done once `complete` has taken the tables out of the source keyspace's VSchema.
        source_tables = (vt.read("GetVSchema", source) or {}).get("tables") or {}
        moving = any(t in source_tables for t in tables)
        self.plan = Plan(keyspace, sorted(vt.shards(keyspace)), listed, [], listed if moving else [])
        self.report = Report(keyspace, [source], listed)

    @property
    def workflow(self) -> str:
        return f"move_{'_'.join(self.tables)}"

    def create_args(self) -> list[str]:
        return ["--source-keyspace", self.source, "--tables", ",".join(self.tables)]

    def source_primaries(self) -> tuple[str, list[int]]:
        return self.source, primaries(self.source)

    def provision(self) -> None:
        if not self.vt.read("GetKeyspace", self.keyspace):
            self.vt.run("CreateKeyspace", "--durability-policy=none", self.keyspace, quiet=True)
        super().provision()  # idempotent: running servers are left as they are
        self.vt.run(
            "ApplyVSchema", "--vschema-file", str(ROOT / "vschema" / f"{self.keyspace}.json"), self.keyspace
        )

    def before_complete(self) -> None:
        for keyspace in self.repoint:
            print(f"   {keyspace}: VSchema from vschema/{keyspace}.json (names {self.keyspace} now)")
            self.vt.run(
                "ApplyVSchema",
                "--vschema-file",
                str(ROOT / "vschema" / f"{keyspace}.json"),
                keyspace,
                quiet=True,
            )


def split(names: str) -> list[str]:
    return [s.strip() for s in names.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sharding.reshard")
    parser.add_argument("keyspace")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--to", help="the target layout, e.g. -40,40-80,80-c0,c0-")
    what.add_argument("--move-tables", help="tables to MoveTables into KEYSPACE, e.g. video_lookup")
    parser.add_argument("--from", dest="source", default="vidstore_lookup", help="--move-tables' source")
    parser.add_argument("--repoint", default="vidstore", help="keyspaces whose VSchema names the tables")
    parser.add_argument("--vtctldclient", default="vtctldclient")
    parser.add_argument("--server", default="127.0.0.1:15411", help="vtctld gRPC address")
    parser.add_argument("--vtgate", default="127.0.0.1:15307", help="vtgate's MySQL address")
    parser.add_argument("--dry-run", action="store_true", help="print every step, change nothing")
    parser.add_argument("--until", choices=STEPS, default=STEPS[-1], help="stop after this step")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--reverse", action="store_true", help="traffic back to the old shards")
    group.add_argument("--abort", action="store_true", help="reverse, cancel, remove the new shards")
    args = parser.parse_args(argv)
    vt = Vitess(args.vtctldclient, args.server, args.vtgate, dry_run=args.dry_run)
    resharder = (
        TableMover(vt, args.source, args.keyspace, split(args.move_tables), split(args.repoint))
        if args.move_tables
        else Resharder(vt, args.keyspace, split(args.to))
    )
    try:
        if args.reverse or args.abort:
            return resharder.reverse(abort=args.abort)
        return resharder.run(args.until)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"!! {exc}\n!! nothing was lost: run the same command again to carry on", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
