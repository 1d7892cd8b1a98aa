"""Named fault points on the flush path, so the fault suite can crash a real flusher exactly there.

Off unless asked: `VIDSTORE_FAULT=<point>:<n>` makes the process SIGKILL itself the n-th time it
reaches <point> (a crash, not an exception: nothing in the process gets to clean up). In-process
tests may instead `inject` a coroutine to run at a point (to drop a database connection, say).
Points: claimed, before_commit, after_commit, before_drop, dropped.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

POINTS = ("claimed", "before_commit", "after_commit", "before_drop", "dropped")
Hook = Callable[[Any], Awaitable[None]]

_hooks: dict[str, Hook] = {}
_reached: Counter[str] = Counter()


def _crash_at() -> tuple[str, int] | None:
    spec = os.environ.get("VIDSTORE_FAULT", "")
    name, _, nth = spec.partition(":")
    if not spec:
        return None
    if name not in POINTS or not nth.isdigit():
        raise ValueError(f"VIDSTORE_FAULT must be <point>:<n> with a point of {POINTS}: {spec!r}")
    return name, int(nth)


_CRASH_AT = _crash_at()


async def point(name: str, context: Any = None) -> None:
    """Mark reaching a fault point (a no-op in normal operation)."""
    if _CRASH_AT is not None and _CRASH_AT[0] == name:
        _reached[name] += 1
        if _reached[name] >= _CRASH_AT[1]:
            os.kill(os.getpid(), signal.SIGKILL)
    hook = _hooks.get(name)
    if hook is not None:
        await hook(context)


def inject(name: str, hook: Hook | None) -> None:
    """Run `hook(context)` whenever `name` is reached in this process (None removes it)."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}")
    if hook is None:
        _hooks.pop(name, None)
    else:
        _hooks[name] = hook
