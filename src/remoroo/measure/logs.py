"""Command logs: the tail a witness quotes, and the cap on what a run may keep."""

from __future__ import annotations

import os
from pathlib import Path

TAIL_LINES = 40
HEAD_SHARE = 0.25  # of a cut log, the first quarter is kept and the last three quarters (metrics print late)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def trim(path: Path, cap: int) -> str | None:
    """Cut the middle of a log longer than ``cap`` bytes; a note of what was cut, or None."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size <= cap:
        return None
    head, rest = int(cap * HEAD_SHARE), cap - int(cap * HEAD_SHARE)
    cut = size - head - rest
    marker = f"\n[remoroo: {cut} bytes cut here; the log was {size} bytes, over the {cap}-byte cap]\n".encode()
    with open(path, "r+b") as handle:
        handle.seek(size - rest)
        end = handle.read(rest)
        handle.seek(head)
        handle.write(marker + end)
        handle.truncate()
        os.fsync(handle.fileno())
    return f"{path.name}: {cut} of {size} bytes cut from the middle (cap {cap} bytes)"
