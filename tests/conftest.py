"""Fixtures for the integration suite: the real app over the real MariaDB and Redis that `make test`
starts (its database `vidstore_test` and Redis database 1), driven over ASGI by httpx in the test's own
event loop (Litestar's AsyncTestClient runs the app on a second loop, which the pools cannot share)."""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pymysql
import pytest
import redis.asyncio as aioredis
from httpx import ASGITransport, AsyncClient, Response

from api import storage
from api.app import create_app
from api.domain.views.flusher import Flusher
from api.settings import Settings
from api.wiring import Services

logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns failures


def base_settings(**changes: Any) -> Settings:
    if os.environ.get("VIDSTORE_TEST") != "1":
        pytest.exit("run the suite through `make test` (it points the app at the test databases)")
    # Limits high enough that the suite is never throttled or shed; tests of the limits pass their own.
    # No view dedupe either (tests record several views from one client); its own test turns it on.
    defaults: dict[str, Any] = {
        "rate_limit_requests": 1_000_000,
        "auth_failures_per_window": 1_000_000,
        "view_dedupe_seconds": 0,
        "max_in_flight": 1_000_000,  # tests fire concurrent requests in one process
    }
    return dataclasses.replace(Settings.from_env(), **{**defaults, **changes})


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Api]:
    """An app with these settings, started (lifespan included) and wrapped in an `Api` helper."""
    app = create_app(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        # The lifespan is entered and left in one task (anyio's cancel scopes demand it), while
        # pytest-asyncio may set up and tear down a fixture in different tasks.
        async with app.lifespan():
            started.set()
            await stop.wait()

    server = asyncio.create_task(serve())
    await asyncio.wait([server, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        server.result()  # startup failed: raise its error
    # The client address the app sees; rate limits and IP-bound tokens use it.
    # (httpx types the app with its own, looser ASGI message types than Litestar's)
    transport = ASGITransport(app=cast(Any, app), client=("192.0.2.10", 50000))
    try:
        async with AsyncClient(transport=transport, base_url="http://vidstore.test") as client:
            yield Api(client, app.state.services)
    finally:
        stop.set()
        await server


@pytest.fixture(scope="session")
def settings() -> Settings:
    return base_settings()


@pytest.fixture(scope="session", autouse=True)
async def clean_redis(settings: Settings) -> None:
    """Start from an empty Redis database (it belongs to the test run). Tables are not wiped: every
    test makes its own users, channels and videos, so the suite also runs on a live cluster."""
    client = aioredis.Redis.from_url(settings.redis_url)
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
async def api(settings: Settings, clean_redis: None) -> AsyncIterator[Api]:
    async with running(settings) as helper:
        yield helper


BACKEND = os.environ.get("VIDSTORE_TEST_BACKEND", "mariadb")


def tablet(socket: str, database: str | None = None) -> pymysql.Connection[Any]:
    """A connection to one of the cluster's MariaDBs by its socket, as the account that made it."""
    user = "root" if os.geteuid() == 0 else getpass.getuser()
    return pymysql.connect(unix_socket=socket, user=user, database=database)


def replicas_caught_up() -> None:
    """Block until every replica has applied all its primary has committed so far: MariaDB's
    MASTER_GTID_WAIT on the primary's binlog position (an event to wait for, not a sleep)."""
    for pair in filter(None, os.environ.get("VIDSTORE_TEST_REPLICATION", "").split(",")):
        primary, replica = pair.split(">")
        with tablet(primary) as conn, conn.cursor() as cur:
            cur.execute("SELECT @@gtid_binlog_pos")
            (position,) = cur.fetchone() or ("",)
        with tablet(replica) as conn, conn.cursor() as cur:
            cur.execute("SELECT MASTER_GTID_WAIT(%s, 10)", (position,))
            assert cur.fetchone() == (0,), f"replica {replica} did not reach {position} in 10 s"


@dataclass(frozen=True)
class Caller:
    user_id: int
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Api:
    """Thin helpers over the HTTP API so tests read as the steps a client takes."""

    def __init__(self, client: AsyncClient, services: Services) -> None:
        self.client = client
        self.services = services

    def flusher(self, shards: tuple[str, ...] | None = None) -> Flusher:
        """A flusher with the cluster's shard map, or a fixed one (on plain MariaDB, any map works:
        it is one database, so grouping by a finer map only splits the transactions)."""
        return Flusher(self.services.db.primary, self.services.buffer, lease_seconds=30, shards=shards)

    async def user(self, name: str = "someone") -> Caller:
        response = await self.client.post("/v1/users", json={"name": name})
        assert response.status_code == 201, response.text
        body = response.json()
        return Caller(body["user_id"], body["api_key"])

    async def channel(self, owner: Caller, title: str = "a channel") -> int:
        response = await self.client.post("/v1/channels", json={"title": title}, headers=owner.auth)
        assert response.status_code == 201, response.text
        return int(response.json()["channel_id"])

    async def video(
        self,
        owner: Caller,
        channel_id: int,
        *,
        visibility: str = "public",
        ready: bool = True,
        title: str = "v",
        settle: bool = True,
    ) -> int:
        response = await self.client.post(
            f"/v1/channels/{channel_id}/videos",
            json={"title": title, "visibility": visibility},
            headers=owner.auth,
        )
        assert response.status_code == 201, response.text
        video_id = int(response.json()["video_id"])
        if ready:
            await self.set_status(video_id, "ready")
        if settle:
            await self.settled()
        return video_id

    async def settled(self) -> None:
        """Replicas (feeds, anonymous reads) have every write made so far; a no-op without replicas."""
        await asyncio.to_thread(replicas_caught_up)

    async def set_status(self, video_id: int, status: str) -> None:
        """What the processing worker does when a video is transcoded (not an API call)."""
        fields: dict[str, Any] = {"status": status}
        if status == "ready":
            fields |= {"duration_ms": 61_000, "manifest_key": storage.manifest_key(video_id)}
        assert await self.services.videos.set_fields_by_id(video_id, fields) is not None

    async def views(self, video_id: int, caller: Caller | None = None) -> dict[str, int]:
        response = await self.client.get(
            f"/v1/videos/{video_id}/views", headers=caller.auth if caller else {}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def view(self, video_id: int) -> Response:
        return await self.client.post(f"/v1/videos/{video_id}/views")


def error_fields(response: Response) -> set[str]:
    """The field names a 4xx error body points at."""
    body = response.json()
    assert body["status_code"] == response.status_code
    return {str(item.get("key")) for item in body.get("extra") or []}


FIGURES: list[str] = []


def report(line: str) -> None:
    """A measured figure, printed in the summary of every run (and kept in .data/reports/)."""
    FIGURES.append(f"[{BACKEND}] {line}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("vidstore figures")
    for line in FIGURES:
        terminalreporter.write_line(line)
    reports = Path(__file__).resolve().parent.parent / ".data" / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"figures-{BACKEND}.txt").write_text("\n".join(FIGURES) + "\n")
