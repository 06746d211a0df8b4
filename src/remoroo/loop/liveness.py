"""Is a run finished, running, or interrupted, and what a resumed run must clean first.

A running engine keeps ``run.pid`` (its pid and start time) in the run
folder and removes it when the reports are written. A folder with no report
whose ``run.pid`` names no live process was killed (``kill -9``, a power
cut, a closed laptop): it is *interrupted*, and ``remoroo resume`` carries it on.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Literal

import psutil

from remoroo.errors import UserError
from remoroo.evidence.events import SnapshotNotes
from remoroo.evidence.ledger import RunFolder
from remoroo.exec.process import TAG_ENV

State = Literal["finished", "running", "interrupted"]


@dataclass(frozen=True)
class Resuming:
    """What a resumed run starts from: the time already used, and what the snapshot had left out."""

    elapsed_s: float
    skipped: dict[str, str] = field(default_factory=dict)
    cleaned: list[str] = field(default_factory=list)
    snapshot: bool = True  # False: killed before the snapshot was kept; take it again from the repository


def mark_running(folder: RunFolder) -> None:
    me = psutil.Process()
    folder.write_text("run.pid", json.dumps({"pid": me.pid, "started": me.create_time()}) + "\n", durable=True)


def mark_stopped(folder: RunFolder) -> None:
    (folder.root / "run.pid").unlink(missing_ok=True)


def run_state(folder: RunFolder) -> tuple[State, int | None]:
    """The run's state, and the pid of the engine running it (None when it is not running)."""
    if (folder.root / "final_report.json").is_file():
        return "finished", None
    owner = _owner(folder)
    return ("running", owner) if owner is not None else ("interrupted", None)


def _owner(folder: RunFolder) -> int | None:
    """The live engine process that holds this run, if any (a pid reused by another program does not count)."""
    try:
        info = json.loads((folder.root / "run.pid").read_text(encoding="utf-8"))
        process = psutil.Process(int(info["pid"]))
        if abs(process.create_time() - float(info["started"])) > 1.0 or process.pid == os.getpid():
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.pid
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None


def refuse_if_running(folder: RunFolder) -> None:
    owner = _owner(folder)
    if owner is not None:
        raise UserError(f"Run {folder.run_id} is still running (pid {owner}): wait for it, or stop it first "
                        f"(kill {owner}), then resume.")


def prepare_resume(folder: RunFolder) -> Resuming:
    """Refuse a run that is still running; kill what the dead run left running, drop its stale copies."""
    refuse_if_running(folder)
    events = folder.events()
    snapshot = (folder.root / "snapshot.bundle").is_file()
    if not snapshot and any(e.event != "run_started" for e in events):
        raise UserError(f"Run {folder.run_id} has no snapshot.bundle, so its workspace cannot be rebuilt: it was "
                        "made by an older remoroo; start it again with 'remoroo run'.")
    cleaned = [f"process {pid}" for pid in _kill_leftovers(folder)]
    for name in ("work", "work-candidates", "verify", "verify-baseline", "verify-logs", "shim"):
        if (folder.root / name).exists():
            shutil.rmtree(folder.root / name, ignore_errors=True)
            cleaned.append(name)
    elapsed = max(0.0, events[-1].ts - events[0].ts) if events else 0.0
    skipped: dict[str, str] = {}
    for event in events:
        if isinstance(event, SnapshotNotes):
            skipped = dict(event.skipped)
    return Resuming(elapsed_s=elapsed, skipped=skipped, cleaned=cleaned, snapshot=snapshot)


def _kill_leftovers(folder: RunFolder) -> list[int]:
    """Processes the dead run started that are still alive: a sandbox over the run folder, or a measured
    command (tagged with ``REMOROO_PROC_TAG``) working in it. An editor showing its report is left alone."""
    root = str(folder.root.resolve())
    found: list[psutil.Process] = []
    for process in psutil.process_iter(["pid", "name", "cmdline", "cwd"]):
        try:
            if process.pid == os.getpid():
                continue
            cmdline = " ".join(process.info.get("cmdline") or [])
            cwd = process.info.get("cwd") or ""
            sandbox = process.info.get("name") == "bwrap" and root in cmdline
            inside = cwd == root or cwd.startswith(root + os.sep) or root in cmdline
            if sandbox or (inside and TAG_ENV in process.environ()):
                found.append(process)
        except (psutil.Error, OSError):
            continue
    for process in found:
        try:
            process.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(found, timeout=5)
    return [p.pid for p in found]
