"""Report a metric from the measured program: ``remoroo.emit("accuracy", acc)``.

Zero dependencies, safe to import from any program the engine measures. The
engine sets ``METRICS_EMIT_FILE`` for each command it runs (a file made anew
for each measurement); each call appends one JSON line there. Outside a remoroo run
the call does nothing, so instrumented code keeps working on its own.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

METRICS_FILE_ENV = "METRICS_EMIT_FILE"
TREE_ENV = "METRICS_TREE"


def emit(name: str, value: object) -> None:
    """Record ``value`` for metric ``name`` in this run's metrics file."""
    if not isinstance(name, str) or not name:
        raise ValueError("emit(name, value): name must be a non-empty string")
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        value = repr(value)
    if not isinstance(value, (bool, int, float, str)):
        raise TypeError(
            f"emit({name!r}, ...): value must be a number, bool or string, "
            f"not {type(value).__name__}"
        )
    path = os.environ.get(METRICS_FILE_ENV)
    if not path:
        return
    line = {
        "name": name,
        "value": value,
        "pid": os.getpid(),
        "t": time.time(),
        "site": _site(),
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def _site() -> str:
    """``file:function`` of the code that called emit (the file relative to the measured tree)."""
    frame = sys._getframe(2)
    path = os.path.realpath(frame.f_code.co_filename)
    root = os.environ.get(TREE_ENV)
    if root:
        root = os.path.realpath(root) + os.sep
        path = path[len(root):] if path.startswith(root) else path
    return f"{path}:{frame.f_code.co_name}"
