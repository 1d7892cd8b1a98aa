"""Scripts that fail half-way leave nothing broken: a fresh tablet's `mysql-up.sh` SIGKILLed right
after mariadb-install-db (its server up, no replication set up yet), then `cluster-up.sh` (what
`make vitess-up` runs) again: the tablet is repaired, replicates, and the cluster serves."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import BACKEND, report
from tests.live import ROOT, until

pytestmark = pytest.mark.skipif(BACKEND != "vitess", reason="needs the Vitess cluster")

UID, PRIMARY = 101, 100  # the lookup keyspace's replica


def sh(script: str, timeout: float = 300) -> str:
    done = subprocess.run(
        ["bash", "-c", f"source stack/vitess/env.sh && {script}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_a_tablet_killed_after_install_is_repaired_by_the_next_vitess_up() -> None:
    sh(
        f'stop_pidfile "$VT_DATA/run/vttablet-{UID}.pid" vttablet && '
        f'stop_pidfile "$(mysql_dir {UID})/mysql.pid" mariadb 60 && rm -rf "$(mysql_dir {UID})"'
    )
    first = subprocess.Popen(
        ["bash", "stack/vitess/mysql-up.sh", str(UID), "replica", str(PRIMARY)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def server_started() -> bool:
        """Past mariadb-install-db: the data folder is complete and the script has started its server."""
        assert first.poll() is None, "mysql-up.sh ended before it could be killed"
        return bool(sh(f'pid_alive "$(mysql_dir {UID})/mysql.pid" && echo up || true'))

    until(server_started, 120, "mysql-up.sh to start the server")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    broken = sh(f'sql {UID} -N -e "SHOW SLAVE STATUS"')
    started = time.monotonic()
    sh("bash stack/vitess/cluster-up.sh", timeout=600)  # make vitess-up
    took = time.monotonic() - started
    status = sh(f'sql {UID} -e "SHOW SLAVE STATUS\\G"')
    assert "Slave_IO_Running: Yes" in status and "Slave_SQL_Running: Yes" in status, status
    # It has what its primary has (the lookup keyspace, Vitess's accounts), and keeps up.
    position = sh(f'sql {PRIMARY} -N -e "SELECT @@gtid_binlog_pos"')
    assert sh(f"sql {UID} -N -e \"SELECT MASTER_GTID_WAIT('{position}', 60)\"") == "0"
    assert sh(f"sql {UID} -N -e \"SHOW DATABASES LIKE 'vidstore_lookup'\"") == "vidstore_lookup"
    report(
        f"tablet {UID}: mysql-up.sh SIGKILLed after install ({'no' if not broken else 'some'} replication"
        f" set up); the next vitess-up repaired it in {took:.0f} s"
    )
