"""The run folder and its append-only ledger (``events.ndjson``).

Every stage appends one typed event (``evidence/events.py``) per step or
decision; the report is built from these lines, never from memory. Each line
is on disk (fsync) before the engine goes on. A resumed run replays the run
from its start: the lines already on record are checked against the replay
and not written twice; the first new line is preceded by a ``resumed`` event.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from remoroo.evidence.events import Event, Resumed, parse_event
from remoroo.exec.workspace import ensure_remoroo_dir

RUNS_DIR = ".remoroo/runs"
Observer = Callable[[Event], None]
Mirror = Callable[[str], None]  # told the relative path of every file written, for an artifact store


def new_run_id() -> str:
    """Sortable by start time (to the millisecond), unique by a random suffix."""
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}"
    return f"{stamp}-{secrets.token_hex(3)}"


class RunFolder:
    def __init__(self, root: Path, observer: Observer | None = None) -> None:
        self.root = root
        self.ledger = root / "events.ndjson"
        self.observer = observer
        self.mirror: Mirror | None = None
        self._replay: list[str] = []  # the event names on record that a resumed run has still to reach
        self._kept = 0  # lines of the ledger confirmed by the replay so far
        self._resumed: Callable[[int], Resumed] | None = None
        self._lock = threading.RLock()  # candidates measured side by side append from their threads

    @classmethod
    def create(cls, repo: Path, run_id: str, observer: Observer | None = None) -> RunFolder:
        ensure_remoroo_dir(repo)
        root = repo / RUNS_DIR / run_id
        root.mkdir(parents=True, exist_ok=False)
        return cls(root, observer)

    @property
    def run_id(self) -> str:
        return self.root.name

    def turn_dir(self, turn: int) -> Path:
        path = self.root / "turns" / str(turn)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def append(self, event: Event) -> None:
        """Write one typed event as a line of the ledger (on disk before this returns), then show it."""
        with self._lock:
            self._append(event)

    def _append(self, event: Event) -> None:
        if self._replay:
            if self._replay[0] == event.event:  # on record already: the replay has reached it again
                self._replay.pop(0)
                self._kept += 1
                if self.observer is not None:
                    self.observer(event)
                return
            self._diverged()
        if self._resumed is not None:
            note, self._resumed = self._resumed(self._kept), None
            self._write_line(note)
        self._write_line(event)
        if self.observer is not None:
            self.observer(event)

    def _write_line(self, event: Event) -> None:
        with open(self.ledger, "a", encoding="utf-8") as handle:
            handle.write(event.model_dump_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.mirror_file("events.ndjson")

    def _diverged(self) -> None:
        """The replay went another way than the record (a measurement redone, say): the record's tail goes."""
        lines = self.ledger.read_text(encoding="utf-8").splitlines(keepends=True)[: self._kept]
        self.write_text("events.ndjson", "".join(lines))
        self._replay = []

    def replay(self, resumed: Callable[[int], Resumed]) -> list[Event]:
        """Prepare to resume: the valid events on record (a torn last line is dropped), to be replayed."""
        lines = self._lines()
        events = _parse_until_torn(lines)
        self.write_text("events.ndjson", "".join(lines[: len(events)]))
        self._replay, self._kept, self._resumed = [e.event for e in events], 0, resumed
        return events

    def events(self) -> list[Event]:
        return _parse_until_torn([line for line in self._lines() if line.strip()])

    def _lines(self) -> list[str]:
        return self.ledger.read_text(encoding="utf-8").splitlines(keepends=True) if self.ledger.is_file() else []

    def write_json(self, relative: str, data: Any) -> Path:
        return self.write_text(relative, json.dumps(data, default=_default, indent=2) + "\n")

    def write_text(self, relative: str, text: str, *, durable: bool = False) -> Path:
        """Write a file of the run folder; ``durable``: whole and on disk before this returns (write, fsync,
        rename), as the records a resumed run relies on must be."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if durable:
            temp = path.with_name(f".{path.name}.tmp")
            with open(temp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
            _fsync_dir(path.parent)
        else:
            path.write_text(text, encoding="utf-8")
        self.mirror_file(relative)
        return path

    def mirror_file(self, relative: str) -> None:
        """Tell the artifact store (if any) that this file of the run folder was written."""
        if self.mirror is not None:
            self.mirror(relative)


def _parse_until_torn(lines: list[str]) -> list[Event]:
    """The events of these lines, up to the first that is not one (the torn last line of a killed run)."""
    events: list[Event] = []
    for line in lines:
        try:
            events.append(parse_event(line))
        except ValidationError:
            break
    return events


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


_NOT_SEARCHED = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".pytest_cache"}


def all_runs(root: Path, below: bool = True, depth: int = 6) -> list[Path]:
    """Every run folder of ``root/.remoroo/runs`` and, with ``below``, of any repository under ``root``
    (``examples/fib_fix/repo`` included), oldest first."""
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        runs = here / RUNS_DIR
        if runs.is_dir():
            found += [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if not below or len(here.relative_to(root).parts) >= depth:
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d not in _NOT_SEARCHED and d != ".remoroo")
    return sorted(found, key=lambda p: (p.name, str(p)))


def locate_run(root: Path, run_id: str, below: bool = True) -> Path:
    """The run ``run_id`` (an id, a unique prefix of one, or ``latest``) under ``root``; UserError naming the
    candidates when there is none, or more than one."""
    from remoroo.errors import UserError

    runs = all_runs(root, below)
    where = f"{root}" + (" or below it" if below else "")
    if not runs:
        hint = "start one with 'remoroo run', or pass --repo REPO" if below else "check --repo"
        raise UserError(f"No run in {where} (.remoroo/runs): {hint}.")
    if run_id == "latest":
        return runs[-1]
    matches = [p for p in runs if p.name == run_id] or [p for p in runs if p.name.startswith(run_id)]
    if not matches:
        raise UserError(f"No run {run_id!r} in {where}: 'remoroo runs' lists them.")
    if len(matches) > 1:
        listed = ", ".join(f"{p.name} ({p.parents[2]})" for p in matches[:6])
        raise UserError(f"{run_id!r} matches {len(matches)} runs: {listed}. Give the whole id, or --repo REPO.")
    return matches[0]


def find_run(repo: Path, run_id: str) -> Path | None:
    runs = repo / RUNS_DIR
    if not runs.is_dir():
        return None
    if run_id == "latest":
        candidates = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name)
        return candidates[-1] if candidates else None
    path = runs / run_id
    return path if path.is_dir() else None
