"""The context slice: what the brain is shown of the repository, within a budget.

Files are ranked by witness stack frames, metric-named symbols, the plan's
focus, reachability from the measured commands (all from the repo index),
goal words in the path, and kind (source before data), then packed until the
character budget is spent. What does not fit is listed in ``omitted``; while
the budget lasts it keeps excerpts of its hot symbols and an outline of the
rest, so the brain knows it exists and can ask for it (hydration).
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import Callable

from remoroo.exec.workspace import is_skipped_dir
from remoroo.index import FileEntry, RepoIndex, Symbol
from remoroo.model.goal import Goal
from remoroo.model.plan import Plan
from remoroo.protocol.wire import ContextSlice, Excerpt, FileView

MAX_FILE_CHARS = 40_000
MAX_OUTLINE = 40
MAX_EXCERPT_LINES = 200
_UNITS = {"sec", "secs", "mib", "gib", "kib", "pct", "percent", "total", "count", "num", "avg", "mean", "max", "min"}
_SOURCE = {".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".go", ".rs", ".c", ".h", ".cpp", ".java",
           ".rb", ".sh", ".toml", ".cfg", ".ini", ".json", ".yaml", ".yml", ".md", ".txt", ".mk", ".mod"}


def list_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(here / d))
        files += [here / name for name in sorted(filenames)]
    return files


def build_slice(root: Path, goal: Goal, budget_chars: int, index: RepoIndex | None = None,
                entries: list[str] | None = None, frames: list[str] | None = None,
                focus: list[str] | None = None,
                protected: Callable[[str], str | None] | None = None) -> ContextSlice:
    """Rank every file, then pack contents into the budget, then outlines of what did not fit.

    Evidence, strongest first: files in a failure witness's stack (``frames``: ``path`` or
    ``path:line``), files whose symbols are named after a goal metric, files the plan means to
    change (``focus``), files reachable by imports from the measured commands' entry files
    (``entries``), then names and kinds of files. A file left out keeps, while the budget lasts,
    excerpts of its hot symbols (metric-named, or holding a stack frame) and an outline of the
    rest, so the brain can name what to hydrate. ``protected`` (the engine's rule, once a plan
    exists) marks each file the audit would veto a change to, so a brain need not guess.
    """
    from remoroo.index import build_index

    index = index if index is not None else build_index(root)
    words = _goal_words(goal)
    reachable = _reachable(index, entries or [])
    metric_words = {m.lower() for m in goal.metric_names}
    metric_parts = {p for m in metric_words for p in re.split(r"[^a-z]+", m)
                    if len(p) >= 3 and p not in _UNITS} - metric_words
    hot_lines: dict[str, set[int]] = {}
    for frame in frames or []:
        file, _, line = frame.rpartition(":")
        file, line = (file, line) if line.isdigit() else (frame, "")
        hot_lines.setdefault(file, set()).update({int(line)} if line else set())
    planned = set(focus or [])
    scored: list[tuple[float, str, Path]] = []
    for path in list_files(root):
        rel = path.relative_to(root).as_posix()
        entry = index.files.get(rel)
        score = _score(rel, path, words) if entry is not None else 0.0  # build output, data: listed, not shown
        if score > 0 and entry is not None:
            symbols = " ".join(s.name.lower() for s in entry.symbols)
            score += 50.0 if rel in hot_lines else 0.0
            score += sum(20.0 for m in metric_words if m in symbols)
            score += sum(8.0 for p in metric_parts if p in symbols)  # latency_ms -> a `latency` function
            score += 15.0 if rel in planned else 0.0
            score += 10.0 if rel in reachable else 0.0
        scored.append((score, rel, path))
    scored.sort(key=lambda item: (-item[0], item[1]))
    views: dict[str, FileView] = {}
    omitted: list[str] = []
    spent = 0
    for score, rel, path in scored:
        size = path.stat().st_size if path.is_file() else 0
        text = _read_text(path) if score > 0 else None
        if text is not None and spent + len(text) <= budget_chars:
            spent += len(text)
            views[rel] = FileView(path=rel, size=size, content=text)
        else:
            omitted.append(rel)
            views[rel] = FileView(path=rel, size=size)
    left_out = [(rel, path, index.files[rel]) for score, rel, path in scored
                if score > 0 and views[rel].content is None and rel in index.files]
    for rel, path, entry in left_out:  # the hot symbols of files that did not fit, as excerpts
        hot = _hot_symbols(entry, metric_words | metric_parts, hot_lines.get(rel, set()))
        lines = _lines(path) if hot else []
        for symbol in hot:
            excerpt = _excerpt(lines, symbol)
            if excerpt is not None and spent + len(excerpt.text) <= budget_chars:
                spent += len(excerpt.text)
                views[rel].excerpts.append(excerpt)
    for rel, _, entry in left_out:  # then outlines, while the budget lasts
        outline = [f"{s.line}-{s.end_line} {s.kind} {s.name}{s.signature}" for s in entry.symbols
                   if s.kind != "module"][:MAX_OUTLINE]
        cost = sum(len(line) + 1 for line in outline)
        if outline and spent + cost <= budget_chars:
            spent += cost
            views[rel].outline = outline
    if protected is not None:
        for rel, view in views.items():
            view.protected = protected(rel)
    return ContextSlice(files=[views[k] for k in sorted(views)], omitted=sorted(omitted), budget_chars=budget_chars)


def _hot_symbols(entry: FileEntry, metric_words: set[str], lines: set[int]) -> list[Symbol]:
    """Symbols named after a metric, or holding a witness's stack frame (innermost definition)."""
    hot: list[Symbol] = []
    defs = [s for s in entry.symbols if s.kind != "module"]
    for line in sorted(lines):
        around = [s for s in defs if s.line <= line <= s.end_line]
        if around:
            inner = min(around, key=lambda s: s.end_line - s.line)
            if inner not in hot:
                hot.append(inner)
    hot += [s for s in defs if s not in hot and any(m in s.name.lower() for m in metric_words)]
    return hot


def _lines(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readlines()
    except OSError:
        return []


def _excerpt(lines: list[str], symbol: Symbol) -> Excerpt | None:
    end = min(symbol.end_line, symbol.line + MAX_EXCERPT_LINES - 1)
    text = "".join(lines[symbol.line - 1:end])
    return Excerpt(symbol=symbol.name, start_line=symbol.line, end_line=end, text=text) if text else None


def _reachable(index: RepoIndex, entries: list[str]) -> set[str]:
    """Files reachable from ``entries`` through the index's resolved imports."""
    seen: set[str] = set()
    todo = [e for e in entries if e in index.files]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [t for t in index.files[path].resolved_imports if t not in seen]
    return seen


def plan_entries(plan: Plan, index: RepoIndex) -> list[str]:
    """Repository files named on the plan's command lines (``python3 -m pkg.mod`` too): where reachability
    starts."""
    modules = index.module_map()
    found: dict[str, None] = {}
    for command in plan.commands:
        tokens = command.run.split()
        for i, token in enumerate(tokens):
            rel = posixpath.normpath(posixpath.join(command.cwd, token))
            if rel in index.files:
                found.setdefault(rel)
            elif i and tokens[i - 1] == "-m" and token in modules:
                found.setdefault(modules[token])
    return list(found)


def _goal_words(goal: Goal) -> set[str]:
    text = " ".join([goal.text, *goal.metric_names])
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", text)}


def _score(rel: str, path: Path, words: set[str]) -> float:
    suffix = path.suffix.lower()
    if path.is_symlink() or suffix not in _SOURCE and path.name not in ("Makefile", "makefile", "GNUmakefile",
                                                                        "Dockerfile"):
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
