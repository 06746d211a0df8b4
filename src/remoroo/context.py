"""The context slice: what the brain is shown of the repository, within a budget.

Files are ranked by affinity with the goal (metric names and goal words in
the path or content) and by kind (source before data), then packed until the
character budget is spent. What does not fit is listed in ``omitted`` so the
brain knows it exists.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from remoroo.brain.protocol import ContextSlice, FileView
from remoroo.goal import Goal
from remoroo.workspace import is_skipped_dir

MAX_FILE_CHARS = 40_000
_SOURCE = {".py", ".js", ".ts", ".go", ".rs", ".c", ".h", ".cpp", ".java", ".rb", ".sh", ".toml",
           ".cfg", ".ini", ".json", ".yaml", ".yml", ".md", ".txt", ".mk"}


def list_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(here / d))
        files += [here / name for name in sorted(filenames)]
    return files


def build_slice(root: Path, goal: Goal, budget_chars: int, entries: list[str] | None = None,
                frames: list[str] | None = None) -> ContextSlice:
    """Rank every file, then pack contents into the budget.

    Evidence, strongest first: files in a failure witness's stack (``frames``), files whose
    symbols are named after a goal metric, files reachable by imports from the measured
    commands' entry files (``entries``), then names and kinds of files.
    """
    from remoroo.index import build_index

    words = _goal_words(goal)
    index = build_index(root)
    reachable = _reachable(index, entries or [])
    metric_words = {m.lower() for m in goal.metric_names}
    scored: list[tuple[float, str, Path]] = []
    for path in list_files(root):
        rel = path.relative_to(root).as_posix()
        score = _score(rel, path, words)
        if score > 0:
            entry = index.files.get(rel)
            symbols = " ".join(s.name.lower() for s in entry.symbols) if entry else ""
            score += 50.0 if rel in (frames or []) else 0.0
            score += sum(20.0 for m in metric_words if m in symbols)
            score += 10.0 if rel in reachable else 0.0
        scored.append((score, rel, path))
    scored.sort(key=lambda item: (-item[0], item[1]))
    views: list[FileView] = []
    omitted: list[str] = []
    spent = 0
    for score, rel, path in scored:
        size = path.stat().st_size if path.is_file() else 0
        text = _read_text(path) if score > 0 else None
        if text is not None and spent + len(text) <= budget_chars:
            spent += len(text)
            views.append(FileView(path=rel, size=size, content=text))
        else:
            omitted.append(rel)
            views.append(FileView(path=rel, size=size))
    views.sort(key=lambda v: v.path)
    return ContextSlice(files=views, omitted=sorted(omitted), budget_chars=budget_chars)


def _reachable(index: object, entries: list[str]) -> set[str]:
    """Files reachable from ``entries`` through imports, resolved with the index's module map."""
    from remoroo.index import RepoIndex

    assert isinstance(index, RepoIndex)
    modules = index.module_map()
    seen: set[str] = set()
    todo = [e for e in entries if e in index.files]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in index.files[path].imports:
            target = modules.get(name.lstrip("."))
            if target and target not in seen:
                todo.append(target)
    return seen


def _goal_words(goal: Goal) -> set[str]:
    text = " ".join([goal.text, *goal.metric_names])
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", text)}


def _score(rel: str, path: Path, words: set[str]) -> float:
    suffix = path.suffix.lower()
    if path.is_symlink() or suffix not in _SOURCE and path.name not in ("Makefile", "Dockerfile"):
        return 0.0
    score = 1.0
    lowered = rel.lower()
    score += sum(2.0 for w in words if w in lowered)
    if suffix == ".py":
        score += 1.0
    return score


def _read_text(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_CHARS:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
