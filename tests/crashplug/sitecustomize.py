"""Test-only plug-in: with this folder on a process's PYTHONPATH and
VIDSTORE_CRASH_AT=<point>[:<n>][,<point>[:<n>]...], the process SIGKILLs itself the n-th time (by
default the first) it reaches one of those points (api/faultpoints.py). With VIDSTORE_CRASH_MARKS=<folder>
too, each point crashes only one process of all those sharing the folder (a restarted process goes
past a point that has already crashed one). A crash, not an exception: nothing in the process gets
to clean up. Production never has this folder on its path."""

import os
import signal

_spec = [p for p in os.environ.get("VIDSTORE_CRASH_AT", "").split(",") if p]
if _spec:
    from collections import Counter
    from pathlib import Path
    from typing import Any

    try:
        from api import faultpoints
    except ImportError as missing:  # Python would print this and run on unarmed: die loudly instead
        print(f"crashplug: cannot arm VIDSTORE_CRASH_AT: {missing!r}", file=__import__("sys").stderr)
        os._exit(70)

    _marks = Path(os.environ["VIDSTORE_CRASH_MARKS"]) if os.environ.get("VIDSTORE_CRASH_MARKS") else None
    _reached: Counter[str] = Counter()

    def _crash_at(point: str, nth: int) -> faultpoints.Hook:
        def crash(_context: Any) -> None:
            _reached[point] += 1
            if _reached[point] < nth:
                return
            if _marks is not None:
                try:
                    (_marks / point).touch(exist_ok=False)  # only the first process to get here
                except FileExistsError:
                    return
            os.kill(os.getpid(), signal.SIGKILL)

        return crash

    for _item in _spec:
        _point, _, _nth = _item.partition(":")
        if _point not in faultpoints.POINTS or not (_nth or "1").isdigit():
            raise SystemExit(f"VIDSTORE_CRASH_AT: {_item!r} is not <point>[:<n>] of {faultpoints.POINTS}")
        faultpoints.inject(_point, _crash_at(_point, int(_nth or "1")))
