"""Named points on paths that must survive a crash between two writes (a database commit and the
Redis write after it; a job's work and its ack). In production reaching a point does nothing: no
environment is read and nothing is registered. The test suite's plug-in (`tests/crashplug/`, put on
the PYTHONPATH of a process it starts) registers a hook that SIGKILLs the process at a chosen point.

Points: outbox_committed (the change and its outbox row committed, nothing enqueued yet),
job_enqueued (the job is in the stream, its outbox row not yet deleted), job_done (the worker did
the work, the job is not yet acked).
"""

from __future__ import annotations

from collections.abc import Callable

POINTS = ("outbox_committed", "job_enqueued", "job_done")

_hook: Callable[[str], None] | None = None


def reached(name: str) -> None:
    if _hook is not None:
        _hook(name)


def install(hook: Callable[[str], None] | None) -> None:
    """For tests only: call `hook(point)` at every point this process reaches."""
    global _hook
    _hook = hook
