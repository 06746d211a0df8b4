"""The run's own repo index and ``system_diagram.md``, refreshed incrementally as kept code changes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

from pydantic import BaseModel

from remoroo.evidence.events import DiagramWritten
from remoroo.evidence.ledger import RunFolder
from remoroo.index import RepoIndex, load_index, refresh, system_diagram

V = TypeVar("V", bound=BaseModel)


class RunIndex:
    """The work tree's index, kept in the run folder; the diagram is regenerated from it, never by a brain.

    The first refresh starts from ``REPO/.remoroo/repo_index.json`` when ``remoroo index``
    made one: files with the same content are not parsed again.
    """

    def __init__(self, tree: Path, folder: RunFolder, repo: Path) -> None:
        self._tree, self._folder, self._repo = tree, folder, repo
        self._index: RepoIndex | None = None
        self._diagram_sha = ""
        self._commit: str | None = None  # the commit the work tree held when last indexed, when the caller said
        self._view: tuple[object, BaseModel] | None = None

    def current(self, commit: str | None = None) -> RepoIndex:
        """The index of the work tree as it is now; writes a ``diagram`` event when the diagram changed.

        A caller that knows the tree holds exactly ``commit`` (reset to it, nothing run since) names it: the
        index of the same commit is then not walked again.
        """
        if commit is not None and commit == self._commit and self._index is not None:
            return self._index
        self._commit, self._view = commit, None
        return self._refresh()

    def view(self, key: object, build: Callable[[], V]) -> V:
        """What ``build`` makes of the tree at the commit last named to ``current``, made once per ``key``.

        A brain's context is built from the kept state; asked again for the same commit, plan and goal (a
        reflection, a hydration round, the next turn after a revert) it is the same, and is not rebuilt.
        The same object is returned each time: callers only read it (a request is serialized before a brain sees it).
        """
        if self._commit is None:
            return build()
        full = (self._commit, key)
        if self._view is None or self._view[0] != full:
            self._view = (full, build())
        return cast(V, self._view[1])

    def _refresh(self) -> RepoIndex:
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
