"""docker-compose.vitess.yml, the production-like topology, validated by docker-compose itself (no
Docker engine runs here, but `config` needs none)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "docker-compose.vitess.yml"
SECRETS = (
    "VIDSTORE_DB_PASSWORD",
    "VT_DB_PASSWORD",
    "VT_REPL_PASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "VIDSTORE_PLAYBACK_SIGNING_KEY",
    "VIDSTORE_API_KEY_PEPPER",
    "VIDSTORE_EDGE_SECRET",
    "MINIO_ROOT_PASSWORD",
)


def compose(*args: str, secrets: tuple[str, ...] = SECRETS) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS} | dict.fromkeys(secrets, "s3cret")
    return subprocess.run(
        ["docker-compose", "-p", "vidstore", "-f", str(FILE), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_compose_file_is_valid_and_has_the_whole_topology() -> None:
    valid = compose("config", "-q")
    assert valid.returncode == 0, valid.stderr
    services = set(compose("config", "--services").stdout.split())
    for role in (
        "etcd",
        "vtctld",
        "vtgate",
        "vtorc",
        "schema",
        "redis",
        "minio",
        "api",
        "flusher",
        "worker",
        "edge",
    ):
        assert role in services, role
    config = compose("config").stdout
    # Per shard of each keyspace: two tablets (VTOrc makes one the primary), each over its own MySQL 8.
    shards = re.findall(r"--init-keyspace\s+(\S+)\s+--init-shard\s+(\S+)", config)
    assert sorted(set(shards)) == [
        ("vidstore", "-80"),
        ("vidstore", "80-"),
        ("vidstore_idx", "-"),
        ("vidstore_lookup", "0"),
    ]
    assert all(shards.count(s) == 2 for s in set(shards))
    assert config.count("image: mysql:8") == len(shards)
    assert "./schema" in config or str(ROOT / "schema") in config  # schema applied from the repo


@pytest.mark.parametrize("missing", ["VIDSTORE_DB_PASSWORD", "VT_REPL_PASSWORD", "VIDSTORE_API_KEY_PEPPER"])
def test_secrets_must_come_from_the_environment(missing: str) -> None:
    result = compose("config", "-q", secrets=tuple(s for s in SECRETS if s != missing))
    assert result.returncode != 0 and missing in result.stderr
