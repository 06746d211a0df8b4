"""The run's own repo index and ``system_diagram.md``, refreshed incrementally as kept code changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from remoroo.evidence.events import DiagramWritten
from remoroo.evidence.ledger import RunFolder
from remoroo.index import RepoIndex, load_index, refresh, system_diagram


class RunIndex:
    """The work tree's index, kept in the run folder; the diagram is regenerated from it, never by a brain.

    The first refresh starts from ``REPO/.remoroo/repo_index.json`` when ``remoroo index``
    made one: files with the same content are not parsed again.
    """

    def __init__(self, tree: Path, folder: RunFolder, repo: Path) -> None:
        self._tree, self._folder, self._repo = tree, folder, repo
        self._index: RepoIndex | None = None
        self._diagram_sha = ""

    def current(self) -> RepoIndex:
        """The index of the work tree as it is now; writes a ``diagram`` event when the diagram changed."""
        path = self._folder.root / "repo_index.json"
        previous = self._index or load_index(path) or load_index(self._repo / ".remoroo" / "repo_index.json")
        index, reparsed = refresh(self._tree, path, previous)
        self._index = index
        unchanged = not reparsed and previous is not None and index.files.keys() == previous.files.keys()
        if unchanged and self._diagram_sha:
            return index
        text = system_diagram(index)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest != self._diagram_sha:
            (self._folder.root / "system_diagram.md").write_text(text, encoding="utf-8")
            self._folder.append(DiagramWritten(file="system_diagram.md", sha256=digest[:16], reparsed=reparsed,
                                               regenerated=bool(self._diagram_sha)))
            self._diagram_sha = digest
        return index
