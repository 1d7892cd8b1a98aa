"""Test-only plug-in: with this folder on PYTHONPATH and VIDSTORE_CRASH_AT=<point>:<n>, the process
SIGKILLs itself the n-th time it reaches <point> (see api/crashpoints.py). A crash, not an
exception: nothing in the process gets to clean up."""

import os
import signal

_spec = os.environ.get("VIDSTORE_CRASH_AT", "")
if _spec:
    from collections import Counter

    from api import crashpoints

    _name, _, _nth = _spec.partition(":")
    if _name not in crashpoints.POINTS or not _nth.isdigit():
        raise SystemExit(f"VIDSTORE_CRASH_AT must be <point>:<n> with a point of {crashpoints.POINTS}")
    _reached: Counter[str] = Counter()

    def _crash(point: str) -> None:
        if point == _name:
            _reached[point] += 1
            if _reached[point] >= int(_nth):
                os.kill(os.getpid(), signal.SIGKILL)

    crashpoints.install(_crash)
