"""Where an uncached get-video's database time goes: the same point select, one at a time on one
connection, through each layer the API adds (the raw driver; SQLAlchemy's pool with its checkout
ping and its rollback on return, as the primary engine has it; without each, as the read engine).
Medians over `--n` iterations, interleaved.

    python -m loadtest.dbcost [--n 500]     (the stack's environment: stack/cli.sh-like, VITESS=1)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiomysql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from loadtest.bench import backend_settings, vitess_env

SELECT = "SELECT video_id, channel_id, title, status FROM videos WHERE video_id = %s"


async def measure(n: int, url: str) -> dict[str, Any]:
    u = make_url(url)
    raw = await aiomysql.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, db=u.database, autocommit=True
    )

    def engine(**kw: Any) -> AsyncEngine:
        return create_async_engine(url, pool_size=1, max_overflow=0, pool_recycle=1800, **kw)

    # AUTOCOMMIT alone still sends ROLLBACK on return (SQLAlchemy leaves it to the driver, and
    # aiomysql sends it); skip_autocommit_rollback is what removes that round trip.
    engines = {
        "sqlalchemy, pre-ping + rollback on return (api/db.py's primary engine)": engine(pool_pre_ping=True),
        "sqlalchemy, rollback on return, no pre-ping": engine(pool_pre_ping=False),
        "sqlalchemy, no pre-ping, autocommit (rollback still sent)": engine(
            pool_pre_ping=False, isolation_level="AUTOCOMMIT"
        ),
        "sqlalchemy, no pre-ping, autocommit, rollback skipped (api/db.py's read engine)": engine(
            pool_pre_ping=False, isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True
        ),
    }

    async def bare() -> None:
        async with raw.cursor() as cur:
            await cur.execute(SELECT, (1,))
            await cur.fetchall()

    def through(e: AsyncEngine) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            async with e.connect() as conn:
                (await conn.execute(text(SELECT.replace("%s", ":v")), {"v": 1})).all()

        return go

    steps: dict[str, Callable[[], Awaitable[None]]] = {"raw aiomysql, one connection": bare}
    steps |= {name: through(e) for name, e in engines.items()}
    times: dict[str, list[float]] = {k: [] for k in steps}
    for fn in steps.values():  # connect and warm each
        await fn()
    for _ in range(n):
        for name, fn in steps.items():
            t = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - t)
    raw.close()
    for e in engines.values():
        await e.dispose()
    base = statistics.median(times["raw aiomysql, one connection"])
    return {
        name: {
            "median_ms": round(statistics.median(v) * 1000, 3),
            "over_raw": round(statistics.median(v) / base, 2),
        }
        for name, v in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.dbcost")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    env = vitess_env() or {}
    url = backend_settings(env).database_url
    result = asyncio.run(measure(args.n, url))
    print(f"backend: {'vitess' if env else 'mariadb'}; {args.n} iterations each, interleaved")
    for name, r in result.items():
        print(f"  {r['median_ms']:>7.3f} ms  {r['over_raw']:>5.2f}x  {name}")


if __name__ == "__main__":
    main()
