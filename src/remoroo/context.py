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


def build_slice(root: Path, goal: Goal, budget_chars: int) -> ContextSlice:
    words = _goal_words(goal)
    scored: list[tuple[float, str, Path]] = []
    for path in list_files(root):
        rel = path.relative_to(root).as_posix()
        scored.append((_score(rel, path, words), rel, path))
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
