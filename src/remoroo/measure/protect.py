"""The files of a tree that a measured command may read but never write: the protected ones.

The sandbox mounts them read-only on top of the candidate's tree, so a run-time
write, truncation, rename or deletion fails (the audit vetoes the same changes
made by a patch). Metric artifacts the run must write stay writable, and so do
the paths the user allowed. A folder whose files are all protected is mounted as
one, so a large test suite costs one mount.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from remoroo.audit.paths import _matches, why_protected
from remoroo.exec.workspace import is_skipped_dir
from remoroo.model.plan import FILE_PROBES, Plan


def readonly_files(plan: Plan, tree: Path, allowed: list[str], inputs: Sequence[str] = ()) -> list[str]:
    """Tree-relative paths (files, or folders holding only protected files) to mount read-only."""
    written = {i.path for i in plan.instrumentation
               if i.path and (i.source == "json_artifact" or i.probe in FILE_PROBES)}
    mounts: list[str] = []
    _walk(tree, "", plan, allowed, written, mounts, frozenset(inputs))
    return mounts


def _walk(root: Path, rel: str, plan: Plan, allowed: list[str], written: set[str], mounts: list[str],
          inputs: frozenset[str]) -> bool:
    """Add the protected entries under ``rel``; True when everything under it is protected."""
    here = root / rel if rel else root
    try:
        entries = sorted(os.scandir(here), key=lambda e: e.name)
    except OSError:
        return False
    found: list[str] = []
    whole = True
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_symlink():
            whole = False
            continue
        if entry.is_dir():
            if entry.name == ".git" or is_skipped_dir(Path(entry.path)):
                whole = False
                continue
            sub: list[str] = []
            if _walk(root, path, plan, allowed, written, sub, inputs):
                found.append(path)
            else:
                found += sub
                whole = False
        elif entry.is_file():
            if path in written or any(_matches(path, a) for a in allowed) or why_protected(path, plan, inputs) is None:
                whole = False
            else:
                found.append(path)
        else:
            whole = False
    if whole and rel and found and not any(w.startswith(rel + "/") for w in written):
        mounts.append(rel)
        return True
    mounts += found
    return False
