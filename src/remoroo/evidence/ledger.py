"""The run folder and its append-only ledger (``events.ndjson``).

Every stage appends one typed event (``evidence/events.py``) per step or
decision; the report is built from these lines, never from memory.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel

from remoroo.evidence.events import Event, parse_event
from remoroo.exec.workspace import ensure_remoroo_dir

RUNS_DIR = ".remoroo/runs"
Observer = Callable[[Event], None]


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
        """Write one typed event as a line of the ledger, then show it to the observer."""
        with open(self.ledger, "a", encoding="utf-8") as handle:
            handle.write(event.model_dump_json() + "\n")
        if self.observer is not None:
            self.observer(event)

    def events(self) -> list[Event]:
        if not self.ledger.is_file():
            return []
        return [parse_event(line) for line in self.ledger.read_text(encoding="utf-8").splitlines() if line.strip()]

    def write_json(self, relative: str, data: Any) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, default=_default, indent=2) + "\n", encoding="utf-8")
        return path


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def find_run(repo: Path, run_id: str) -> Path | None:
    runs = repo / RUNS_DIR
    if not runs.is_dir():
        return None
    if run_id == "latest":
        candidates = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name)
        return candidates[-1] if candidates else None
    path = runs / run_id
    return path if path.is_dir() else None
