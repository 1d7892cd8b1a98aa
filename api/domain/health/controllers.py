from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Literal

import msgspec
from litestar import Controller, MediaType, Response, get
from litestar.openapi import ResponseSpec
from litestar.plugins.prometheus import PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import text

from api.admission import ALWAYS_ADMITTED
from api.deps import Buffer, Db, Redis, provide_buffer, provide_db, provide_redis
from api.http_metrics import NO_HTTP_METRICS

log = logging.getLogger("vidstore.health")


class Readiness(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]  # "ok" or "down: <error>", per dependency


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, timeout=2)
        return name, "ok"
    except Exception as exc:
        return name, f"down: {type(exc).__name__}"


async def _db_ping(db: Db) -> None:
    async with db.primary.connect() as conn:
        await conn.execute(text("SELECT 1"))


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = {ALWAYS_ADMITTED: True, NO_HTTP_METRICS: True}  # probes answer however busy the process is
    dependencies = {
        "db": provide_db,
        "redis": provide_redis,
    }

    @get("/live", summary="Liveness: the process serves requests")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        summary="Readiness: MariaDB/vtgate and Redis answer",
        responses={503: ResponseSpec(Readiness, description="the database or Redis is down")},
    )
    async def ready(self, db: Db, redis: Redis) -> Response[Readiness]:
        checks = dict(await asyncio.gather(_check("database", _db_ping(db)), _check("redis", redis.ping())))
        ok = all(v == "ok" for v in checks.values())
        return Response(
            Readiness(status="ok" if ok else "unavailable", checks=checks),
            status_code=200 if ok else 503,
            media_type=MediaType.JSON,
        )


class MetricsController(PrometheusController):
    """Litestar's Prometheus endpoint, with the view-buffer gauges read from Redis at scrape time."""

    dependencies = {"buffer": provide_buffer}

    @get(include_in_schema=False, opt={ALWAYS_ADMITTED: True, NO_HTTP_METRICS: True})
    async def get(self, buffer: Buffer) -> Response[bytes]:
        try:
            await buffer.refresh_gauges()
        except Exception as exc:  # metrics must render even with Redis down
            log.warning("view buffer gauges not refreshed: %r", exc)
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several worker processes: add theirs up
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
