"""The run's write-ahead journal: what a resumed run takes from the record instead of doing again.

A run's only effects that cannot be recomputed are the brain's answers and
the measurements; everything else (snapshot, patches, commits, audits,
decisions) follows from them deterministically. Both are written durably
(fsync, then rename) before the engine acts on them:

- ``brain/NNNN-KIND.request.json`` / ``.response.json``: every exchange in
  order, the transcript that is also the run's evidence;
- ``journal/measure-KEY.json``: each measurement, keyed by what was measured
  (the tree's commit, the plan, the metrics, the logs folder, the repeats).

On resume the engine runs again from the start with :class:`Transcript` and
:class:`Journaled` giving back what is on record; the first call that is not
on record (the step that was in flight when the run died) is done for real,
and from there on the run goes on as it would have.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from remoroo.errors import GitError
from remoroo.evidence.ledger import RunFolder
from remoroo.exec.git import head as head_of
from remoroo.loop.state import Measurer
from remoroo.measure.once import Measurement
from remoroo.model.plan import Plan


class Transcript:
    """Every brain exchange, as sent and as answered; on resume, the answers on record are given again."""

    def __init__(self, folder: RunFolder, replaying: bool = False) -> None:
        self.folder = folder
        self.replaying = replaying
        self.n = 0
        self.replayed = 0

    def recall(self, kind: str) -> str | None:
        """The recorded answer to the next call, when a resumed run has one (then the call is not made)."""
        self.n += 1
        if not self.replaying:
            return None
        path = self.folder.root / "brain" / f"{self.n:04d}-{kind}.response.json"
        if not path.is_file():
            self.replaying = False  # the call in flight when the run died: from here on, everything is new
            return None
        self.replayed += 1
        return path.read_text(encoding="utf-8")

    def record(self, kind: str, request: str, response: str) -> None:
        stem = f"brain/{self.n:04d}-{kind}"
        self.folder.write_text(f"{stem}.request.json", request)
        self.folder.write_text(f"{stem}.response.json", response, durable=True)  # the answer is the commit mark


class Journaled:
    """A measurer whose every result is kept in the journal, and given back from it on resume."""

    def __init__(self, inner: Measurer, folder: RunFolder, replaying: bool = False) -> None:
        self.inner = inner
        self.folder = folder
        self.replaying = replaying
        self.replayed = 0
        self._seen: Counter[str] = Counter()

    @property
    def remote_workers(self) -> int:
        return self.inner.remote_workers

    def measures_away(self, metrics: list[str]) -> bool:
        return self.inner.measures_away(metrics)

    def protect_inputs(self, inputs: list[str]) -> None:
        self.inner.protect_inputs(inputs)

    def measure(self, plan: Plan, metrics: list[str], tree: Path, logs: Path, *, repeats: int, deadline: float,
                first: Measurement | None = None, away: bool = False, cpus: tuple[int, ...] = ()) -> Measurement:
        key = self._key(plan, metrics, tree, logs, repeats, first, away)
        relative = f"journal/measure-{key}.json"
        path = self.folder.root / relative
        if self.replaying and path.is_file():
            self.replayed += 1
            return Measurement.model_validate_json(path.read_text(encoding="utf-8"))
        result = self.inner.measure(plan, metrics, tree, logs, repeats=repeats, deadline=deadline, first=first,
                                    away=away, cpus=cpus)
        self.folder.write_text(relative, result.model_dump_json(), durable=True)
        return result

    def _key(self, plan: Plan, metrics: list[str], tree: Path, logs: Path, repeats: int,
             first: Measurement | None, away: bool) -> str:
        try:
            head = head_of(tree)
        except GitError:
            head = "no-git"
        try:
            where = logs.resolve().relative_to(self.folder.root.resolve()).as_posix()
        except ValueError:
            where = logs.name
        text = json.dumps({"plan": plan.model_dump(mode="json"), "metrics": metrics, "head": head, "logs": where,
                           "repeats": repeats, "first": first is not None, "away": away}, sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:24]
        self._seen[digest] += 1  # the same measurement asked for twice is two entries, in order
        return f"{digest}-{self._seen[digest]}"
