"""The repository index: files, symbols, imports, entry points and calls; incremental.

``remoroo index [REPO]`` writes ``REPO/.remoroo/repo_index.json`` and
``REPO/.remoroo/system_diagram.md``; a run keeps its own pair in its run
folder and refreshes them whenever the code it works on changes.

A file whose size and modification time are unchanged is not read again; one
whose content hash is unchanged is not parsed again. ``.remoroo/``,
virtualenvs, caches, ``node_modules``, build output and binary or data files
are skipped; files over 1 MiB are hashed but not parsed. Python is read with
``ast`` (:mod:`.python`); JavaScript, TypeScript and Go with tree-sitter's
per-language grammars (:mod:`.treesitter`). Cross-file facts (resolved
imports, the call graph, entry points) come from :mod:`.resolve`, and the
diagram from :mod:`.diagram`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from remoroo.exec.workspace import is_skipped_dir
from remoroo.index.diagram import system_diagram
from remoroo.index.model import INDEX_VERSION, EntryPoint, FileEntry, RepoIndex, Symbol

__all__ = ["EntryPoint", "FileEntry", "RepoIndex", "Symbol", "build_index", "load_index", "system_diagram",
           "write_index"]

MAX_PARSE_BYTES = 1 << 20
LANGUAGES = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
             ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
             ".go": "go", ".rs": "rust", ".c": "c", ".h": "c", ".cpp": "cpp", ".java": "java", ".rb": "ruby",
             ".sh": "shell", ".md": "markdown", ".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".so", ".o", ".a", ".dll", ".dylib", ".exe", ".class", ".jar", ".png", ".jpg",
                 ".jpeg", ".gif", ".ico", ".svg", ".pdf", ".zip", ".gz", ".bz2", ".xz", ".tar", ".whl", ".npy",
                 ".npz", ".pkl", ".pickle", ".parquet", ".feather", ".arrow", ".h5", ".hdf5", ".bin", ".db",
                 ".sqlite", ".csv", ".tsv", ".jsonl", ".pt", ".pth", ".ckpt", ".onnx", ".safetensors", ".wav",
                 ".mp3", ".mp4", ".woff", ".woff2", ".ttf", ".lock", ".map"}
BUILD_DIRS = {"build", "dist", "target", "site-packages", "__pypackages__", ".next", ".nuxt", "out-tsc"}


def build_index(root: Path, previous: RepoIndex | None = None) -> RepoIndex:
    from remoroo.index.resolve import resolve

    old = previous.files if previous is not None and previous.version == INDEX_VERSION else {}
    files: dict[str, FileEntry] = {}
    fresh = False
    for rel, full, stat in _walk(root, ""):
        cached = old.get(rel)
        if cached is not None and cached.size == stat.st_size and cached.mtime_ns == stat.st_mtime_ns:
            files[rel] = cached
            continue
        entry = _entry(full, rel, stat.st_size, stat.st_mtime_ns, cached)
        if entry is not None:
            files[rel] = entry
            fresh = fresh or entry is not cached
    index = RepoIndex(files=files)
    if previous is not None and not fresh and files.keys() == old.keys():
        index.entry_points = previous.entry_points  # nothing changed: the cross-file facts still hold
    else:
        resolve(index, root)
    return index


def _walk(root: Path, prefix: str) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(relative path, path, stat) of every indexable file, in sorted order."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for item in entries:
        if item.is_symlink():
            continue
        if item.is_dir():
            if not _skipped(Path(item.path)):
                yield from _walk(Path(item.path), f"{prefix}{item.name}/")
        elif item.is_file():
            name = item.name
            dot = name.rfind(".")
            if (dot > 0 and name[dot:].lower() in SKIP_SUFFIXES) or name.endswith("-lock.json"):
                continue
            yield f"{prefix}{name}", Path(item.path), item.stat()


def _skipped(path: Path) -> bool:
    return (is_skipped_dir(path) or path.name.startswith(".") or path.name in BUILD_DIRS
            or path.name.endswith(".egg-info"))


def _entry(path: Path, rel: str, size: int, mtime_ns: int, cached: FileEntry | None) -> FileEntry | None:
    try:
        with open(path, "rb") as handle:  # a huge file is hashed in chunks, never held whole
            data = handle.read(MAX_PARSE_BYTES + 1) if size <= MAX_PARSE_BYTES else handle.read(8192)
            if b"\0" in data[:8192]:
                return None
            if size <= MAX_PARSE_BYTES:
                digest = hashlib.sha256(data).hexdigest()
            else:
                handle.seek(0)
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:  # unreadable: not part of the index
        return None
    if cached is not None and cached.sha256 == digest:  # touched or checked out again, same content
        return cached.model_copy(update={"mtime_ns": mtime_ns})
    entry = FileEntry(path=rel, sha256=digest, size=size, mtime_ns=mtime_ns,
                      language=LANGUAGES.get(path.suffix.lower(), "text"), parsed=size <= MAX_PARSE_BYTES)
    if not entry.parsed:
        return entry
    if entry.language == "python":
        from remoroo.index import python

        python.parse(entry, data.decode("utf-8", "replace"))
    elif entry.language in ("javascript", "typescript", "go", "rust"):
        from remoroo.index import treesitter

        treesitter.parse(entry, data)
    return entry


def load_index(path: Path) -> RepoIndex | None:
    try:
        index = RepoIndex.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return index if index.version == INDEX_VERSION else None


def write_index(repo: Path, folder: Path | None = None) -> tuple[Path, Path, int]:
    """(Re)index ``repo`` into ``folder`` (default ``repo/.remoroo``).

    Returns the index path, the diagram path, and how many files were (re)read.
    """
    if folder is None:
        from remoroo.exec.workspace import ensure_remoroo_dir

        folder = ensure_remoroo_dir(repo)
    index, reparsed = refresh(repo, folder / "repo_index.json")
    diagram = folder / "system_diagram.md"
    diagram.write_text(system_diagram(index), encoding="utf-8")
    return folder / "repo_index.json", diagram, reparsed


def refresh(repo: Path, path: Path, previous: RepoIndex | None = None) -> tuple[RepoIndex, int]:
    """Index ``repo`` incrementally against ``previous`` (or the index stored at ``path``); store it there."""
    previous = previous if previous is not None else load_index(path)
    index = build_index(repo, previous)
    old = previous.files if previous is not None else {}
    reparsed = sum(1 for p, e in index.files.items() if old.get(p) is not e)
    if reparsed or previous is None or index.files.keys() != old.keys() or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(index.model_dump_json(), encoding="utf-8")
    return index, reparsed
