"""The repository index: files, Python symbols, imports, entry points and calls; incremental.

``remoroo index [REPO]`` writes ``REPO/.remoroo/repo_index.json`` and
``REPO/.remoroo/system_diagram.md``. A file whose size and modification time
are unchanged is not read again. Virtualenvs, ``.remoroo/``, caches,
``node_modules`` and binary files are skipped; files over 1 MiB are hashed but
not parsed. The diagram is generated from the index only: every node is a real
file or ``file:symbol``.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, Field

from remoroo.workspace import is_skipped_dir

MAX_PARSE_BYTES = 1 << 20
LANGUAGES = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript", ".tsx": "typescript",
             ".go": "go", ".rs": "rust", ".c": "c", ".h": "c", ".cpp": "cpp", ".java": "java", ".rb": "ruby",
             ".sh": "shell", ".md": "markdown", ".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
SKIP_SUFFIXES = {".pyc", ".so", ".o", ".a", ".png", ".jpg", ".jpeg", ".gif", ".pdf", ".zip", ".gz", ".tar", ".whl",
                 ".npy", ".npz", ".pkl", ".parquet", ".h5", ".bin", ".db", ".sqlite"}


class Symbol(BaseModel):
    name: str
    kind: str  # function | class | method
    line: int
    end_line: int
    signature: str = ""
    calls: list[str] = Field(default_factory=list)


class FileEntry(BaseModel):
    path: str
    sha256: str
    size: int
    mtime_ns: int
    language: str
    symbols: list[Symbol] = Field(default_factory=list)
    imports: list[str] = Field(default_factory=list)
    entry_point: bool = False
    parsed: bool = True


class RepoIndex(BaseModel):
    version: int = 1
    files: dict[str, FileEntry] = Field(default_factory=dict)

    def module_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for path in self.files:
            if path.endswith(".py"):
                parts = path[:-3].split("/")
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                out[".".join(parts)] = path
        return out


def build_index(root: Path, previous: RepoIndex | None = None) -> RepoIndex:
    old = previous.files if previous else {}
    files: dict[str, FileEntry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(here / d) and not d.startswith("."))
        for name in sorted(filenames):
            path = here / name
            if path.suffix.lower() in SKIP_SUFFIXES or path.is_symlink():
                continue
            rel = path.relative_to(root).as_posix()
            stat = path.stat()
            cached = old.get(rel)
            if cached is not None and cached.size == stat.st_size and cached.mtime_ns == stat.st_mtime_ns:
                files[rel] = cached
                continue
            entry = _entry(path, rel, stat.st_size, stat.st_mtime_ns)
            if entry is not None:
                files[rel] = entry
    return RepoIndex(files=files)


def _entry(path: Path, rel: str, size: int, mtime_ns: int) -> FileEntry | None:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    entry = FileEntry(path=rel, sha256=hashlib.sha256(data).hexdigest(), size=size, mtime_ns=mtime_ns,
                      language=LANGUAGES.get(path.suffix.lower(), "text"), parsed=size <= MAX_PARSE_BYTES)
    if entry.language == "python" and entry.parsed:
        _python(entry, data.decode("utf-8", "replace"))
    return entry


def _python(entry: FileEntry, text: str) -> None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        entry.parsed = False
        return
    name = entry.path.rsplit("/", 1)[-1]
    entry.entry_point = name.startswith("test_") or name == "__main__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            entry.imports += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            entry.imports.append(("." * node.level) + node.module)
        elif isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test):
            entry.entry_point = True
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            entry.symbols.append(_symbol(node, "function", node.name))
        elif isinstance(node, ast.ClassDef):
            entry.symbols.append(_symbol(node, "class", node.name))
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    entry.symbols.append(_symbol(item, "method", f"{node.name}.{item.name}"))
    entry.symbols.append(Symbol(name="<module>", kind="module", line=1, end_line=len(text.splitlines()),
                                calls=_calls([n for n in tree.body if not isinstance(
                                    n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))])))


def _symbol(node: ast.AST, kind: str, name: str) -> Symbol:
    signature = f"({ast.unparse(node.args)})" if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else ""
    return Symbol(name=name, kind=kind, line=node.lineno, end_line=node.end_lineno or node.lineno,  # type: ignore[attr-defined]
                  signature=signature, calls=_calls([node]))


def _calls(nodes: list[ast.AST]) -> list[str]:
    found: list[str] = []
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name and name not in found:
                    found.append(name)
    return found


def load_index(path: Path) -> RepoIndex | None:
    try:
        return RepoIndex.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def system_diagram(index: RepoIndex) -> str:
    """A mermaid graph: entry points → modules they import → symbols they call there."""
    modules = index.module_map()
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []

    def node(label: str) -> str:
        return nodes.setdefault(label, f"n{len(nodes)}")

    for path, entry in sorted(index.files.items()):
        if entry.language != "python":
            continue
        local = [modules[m.lstrip(".")] for m in entry.imports if m.lstrip(".") in modules]
        if not entry.entry_point and not local:
            continue
        for target in local:
            edges.append((node(path), node(target)))
            defined = {s.name: s for s in index.files[target].symbols if s.kind in ("function", "class")}
            called = {c for s in entry.symbols for c in s.calls}
            for name in sorted(called & set(defined)):
                edges.append((node(target), node(f"{target}:{name}")))
    lines = ["# System diagram", "", "Generated from `.remoroo/repo_index.json`; every node is a real file or symbol.",
             "", "```mermaid", "graph LR"]
    for label, ident in nodes.items():
        entry = index.files.get(label)
        shape = f'{ident}(["{label}"])' if entry is not None and entry.entry_point else f'{ident}["{label}"]'
        lines.append(f"  {shape}")
    lines += [f"  {a} --> {b}" for a, b in dict.fromkeys(edges)]
    lines += ["```", ""]
    return "\n".join(lines)


def write_index(repo: Path) -> tuple[Path, Path, int]:
    """(Re)index ``repo``; returns the index path, the diagram path, and how many files were (re)parsed."""
    from remoroo.ledger import ensure_remoroo_dir

    base = ensure_remoroo_dir(repo)
    path = base / "repo_index.json"
    previous = load_index(path)
    index = build_index(repo, previous)
    reparsed = sum(1 for p, e in index.files.items() if previous is None or previous.files.get(p) is not e)
    path.write_text(index.model_dump_json(), encoding="utf-8")
    diagram = base / "system_diagram.md"
    diagram.write_text(system_diagram(index), encoding="utf-8")
    return path, diagram, reparsed
