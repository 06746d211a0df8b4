"""A suite's results shared through the artifact store, so several machines running one suite skip each
other's finished cases and build one leaderboard.

Layout under ``s3://BUCKET/PREFIX``: ``bench/CASE_KEY/{final_report.md,final_report.json,events.ndjson}``
for each finished case, ``bench/leaderboard.{json,md,html}``, and each case's run folder under ``runs/``
(the engine's own ``--store``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from remoroo.evidence.store import ObjectStore

PARTS = ("final_report.md", "final_report.json", "events.ndjson")


class SharedResults:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.cache = Path(tempfile.mkdtemp(prefix="remoroo-bench-store-"))

    def finished(self, key: str) -> Path | None:
        """The case's final_report.md as the store has it (copied here), or None when no machine finished it."""
        report = self.store.get(f"bench/{key}/final_report.md")
        if report is None:
            return None
        folder = self.cache / key
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "final_report.md").write_bytes(report)
        for name in PARTS[1:]:
            data = self.store.get(f"bench/{key}/{name}")
            if data is not None:
                (folder / name).write_bytes(data)
        return folder / "final_report.md"

    def record(self, key: str, report_md: Path) -> None:
        """Share a finished case: its reports and ledger."""
        for name in PARTS[1:] + PARTS[:1]:  # the report last: its presence means the case is finished
            path = report_md.parent / name
            if path.is_file():
                self.store.put(f"bench/{key}/{name}", path.read_bytes())

    def publish(self, paths: dict[str, Path]) -> None:
        for path in paths.values():
            self.store.put(f"bench/{path.name}", path.read_bytes())
