"""Named points on the paths that must survive a crash or a failure between two writes, so tests can
make one happen exactly there. In production reaching a point does nothing: no environment is read
and no hook is installed; nothing a setting says can arm one.

Tests arm them in two ways:
- in their own process, `inject(point, hook)` runs `hook(context)` at the point (a coroutine is
  awaited: the fault suite closes the database connection it is given, mid-transaction);
- in a process they start, the test-only plug-in `tests/crashplug/` (on that process's PYTHONPATH,
  `VIDSTORE_CRASH_AT=<point>[:<n>],...`) injects a SIGKILL at the n-th time a point is reached.

Flush points (api.domain.views.flusher): claimed (a batch claimed, nothing applied), before_commit
(the shard transaction written, not committed; its connection is the context), after_commit,
before_drop (every shard committed, the batch still pending), dropped.
Job points: outbox_committed (a change and its outbox row committed, nothing enqueued yet),
job_enqueued (the job in the stream, its outbox row not yet deleted), job_done (the worker did the
work, the job is not yet acked).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["FLUSH_POINTS", "JOB_POINTS", "POINTS", "Hook", "inject", "reached"]

FLUSH_POINTS = ("claimed", "before_commit", "after_commit", "before_drop", "dropped")
JOB_POINTS = ("outbox_committed", "job_enqueued", "job_done")
POINTS = FLUSH_POINTS + JOB_POINTS

Hook = Callable[[Any], Awaitable[None] | None]

_hooks: dict[str, Hook] = {}


async def reached(name: str, context: Any = None) -> None:
    """Mark reaching a point (a dictionary miss in normal operation)."""
    hook = _hooks.get(name)
    if hook is not None:
        result = hook(context)
        if inspect.isawaitable(result):
            await result


def inject(name: str, hook: Hook | None) -> None:
    """For tests only: run `hook(context)` whenever `name` is reached in this process (None removes it)."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}; known: {POINTS}")
    if hook is None:
        _hooks.pop(name, None)
    else:
        _hooks[name] = hook
