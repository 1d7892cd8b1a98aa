"""Test-only plug-in: with this folder on PYTHONPATH, VIDSTORE_CRASH_AT=<point>[,<point>...] and
VIDSTORE_CRASH_MARKS=<folder>, a process SIGKILLs itself the first time one of those points is
reached (see api/crashpoints.py), once per point across all the processes sharing the folder (a
restarted process goes past a point that has already crashed one). A crash, not an exception:
nothing in the process gets to clean up."""

import os
import signal

_points = [p for p in os.environ.get("VIDSTORE_CRASH_AT", "").split(",") if p]
if _points:
    from pathlib import Path

    from api import crashpoints

    _unknown = set(_points) - set(crashpoints.POINTS)
    if _unknown:
        raise SystemExit(f"VIDSTORE_CRASH_AT: unknown points {_unknown}; known: {crashpoints.POINTS}")
    _marks = Path(os.environ["VIDSTORE_CRASH_MARKS"])

    def _crash(point: str) -> None:
        if point in _points:
            try:
                (_marks / point).touch(exist_ok=False)  # only the first process to get here
            except FileExistsError:
                return
            os.kill(os.getpid(), signal.SIGKILL)

    crashpoints.install(_crash)
