"""Anyone can run it: the stack's bring-up (MariaDB, Redis, the schema, the API under the supervisor)
run by a non-root user, with a PATH without /usr/sbin, administering its MariaDB through its own
socket account, and serving. As root (CI) the user is created for the purpose (`vidstore-dev`).
Covers MariaDB + Redis + API only (Vitess and object storage need caches built per user)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND, report
from tests.live import ROOT, free_port

pytestmark = pytest.mark.skipif(BACKEND != "mariadb", reason="runs once, in the MariaDB pass")

USER = "vidstore-dev"
TOOLS = {
    "granian": "granian",
    "supervisord": "supervisor.supervisord",
    "supervisorctl": "supervisor.supervisorctl",
}


def as_user(
    user: str, env: dict[str, str], script: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def venv_for(user: str, repo: Path) -> None:
    """The copy's .venv: the project's own when the user can run it; otherwise (root's interpreter is
    out of the user's reach) a venv of Debian's python3 over the project venv's packages."""
    venv = ROOT / ".venv"
    if as_user(user, {"PATH": "/usr/bin:/bin"}, f"{venv}/bin/python -c 1").returncode == 0:
        (repo / ".venv").symlink_to(venv)
        return
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packages = venv / "lib" / version / "site-packages"
    (repo / ".venv" / "lib" / version / "site-packages" / "vidstore-project.pth").write_text(f"{packages}\n")
    for tool, module in TOOLS.items():
        script = repo / ".venv" / "bin" / tool
        script.write_text(f'#!/bin/sh\nexec "$(dirname "$0")/python" -m {module} "$@"\n')
        script.chmod(0o755)


@pytest.fixture(scope="module")
def user() -> Iterator[str]:
    if os.geteuid() != 0:
        yield pwd.getpwuid(os.geteuid()).pw_name
        return
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    yield USER


def test_a_non_root_user_brings_the_stack_up(user: str) -> None:
    account = pwd.getpwnam(user)
    work = Path(tempfile.mkdtemp(prefix="vidstore-anyuser-", dir="/tmp"))
    repo = work / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    venv_for(user, repo)
    subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(work)], check=True)
    api_port = free_port()
    env = {
        "HOME": account.pw_dir,
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # no /usr/sbin: the scripts add it
        "VIDSTORE_DATA": str(work / "data"),
        "VIDSTORE_MARIADB_PORT": str(free_port()),
        "VIDSTORE_REDIS_PORT": str(free_port()),
        "VIDSTORE_API_PORT": str(api_port),
        "VIDSTORE_WEB_WORKERS": "1",
    }
    bring_up = (
        f"cd {repo} && bash stack/mariadb-up.sh && bash stack/redis-up.sh"
        " && bash stack/dba.sh --backend mariadb --database vidstore apply"
        ' && source stack/env.sh && start_program api && wait_for 180 API "$LOGS/api.log" '
        'curl -sf -o /dev/null "http://127.0.0.1:$API_PORT/health/ready"'
        " && supervise status api mariadb redis"
    )
    try:
        done = as_user(user, env, bring_up)
        assert done.returncode == 0, done.stdout + done.stderr
        ready = httpx.get(f"http://127.0.0.1:{api_port}/health/ready")
        made = httpx.post(f"http://127.0.0.1:{api_port}/v1/users", json={"name": "anyone"})
        assert ready.status_code == 200 and made.status_code == 201, (ready.text, made.text)
        owners = {p.owner() for p in (work / "data").rglob("*") if p.is_file()}
        assert owners == {user}, owners  # nothing of it belongs to root
        report(f"bring-up as the non-root user {user}: MariaDB, Redis, schema and API serving")
    finally:
        as_user(user, env, f"cd {repo} && bash stack/supervisor-down.sh", timeout=300)
        shutil.rmtree(work, ignore_errors=True)
