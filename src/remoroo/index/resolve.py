"""Cross-file facts, recomputed over the whole index after each build (cheap: no file is parsed).

- imports resolved to repository files (Python modules and packages, relative
  imports, a ``src/`` layout; JS/TS relative specifiers with their implicit
  extensions and ``index`` files; Go import paths under a ``go.mod`` module);
- the call graph, best effort: a call resolves to a definition of that name in
  the same file, in an imported file, or (Go) in the same package;
- entry points with their evidence: ``__main__`` guards and modules, test
  files, console scripts from ``pyproject.toml``, ``package.json`` main/bin,
  Go ``main`` packages.
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from pathlib import Path, PurePosixPath

from remoroo.index.model import EntryPoint, FileEntry, RepoIndex

_JS_SUFFIXES = ("", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", "/index.js", "/index.ts", "/index.tsx")
_GO_MODULE = re.compile(r"^module\s+(\S+)", re.M)
_DEFINING = ("function", "class", "type", "method")
SCRIPT_NAMES = ("main.py", "run.py", "train.py", "bench.py", "benchmark.py", "evaluate.py", "eval.py")


def resolve(index: RepoIndex, root: Path) -> None:
    modules = index.module_map()
    go_modules = _go_modules(index, root)
    crates = sorted((str(PurePosixPath(p).parent) for p in index.files if PurePosixPath(p).name == "Cargo.toml"),
                    key=len, reverse=True)
    go_packages: dict[str, list[str]] = {}
    for path, entry in index.files.items():
        if entry.language == "go" and not path.endswith("_test.go"):
            go_packages.setdefault(str(PurePosixPath(path).parent), []).append(path)
    for path, entry in index.files.items():
        if entry.language == "python":
            found = [_python_target(path, name, modules) for name in entry.imports]
        elif entry.language in ("javascript", "typescript"):
            found = [_js_target(path, name, index.files) for name in entry.imports]
        elif entry.language == "rust":
            found = [_rust_target(path, name, crates, index.files) for name in entry.imports]
        elif entry.language == "go":
            found = [p for name in entry.imports for p in _go_targets(name, go_modules, go_packages)]
            found += [p for p in go_packages.get(str(PurePosixPath(path).parent), []) if p != path]
        else:
            found = []
        entry.resolved_imports = list(dict.fromkeys(p for p in found if p and p != path))
    _call_targets(index)
    index.entry_points = _entry_points(index, root, modules)


def _python_target(path: str, name: str, modules: dict[str, str]) -> str | None:
    level = len(name) - len(name.lstrip("."))
    dotted = name[level:]
    if level:
        base = list(PurePosixPath(path).parent.parts)
        base = base[: len(base) - (level - 1)] if level > 1 else base
        dotted = ".".join([*base, dotted] if dotted else base)
    while dotted:
        if dotted in modules:
            return modules[dotted]
        dotted = dotted.rpartition(".")[0]  # `import a.b.c` of a symbol: the nearest module
    return None


def _js_target(path: str, spec: str, files: dict[str, FileEntry]) -> str | None:
    if not spec.startswith("."):
        return None  # a package, not a file of this repo
    base = PurePosixPath(path).parent
    joined = posixpath.normpath(f"{base}/{spec}")
    stem = re.sub(r"\.(m|c)?js$", "", joined)  # TypeScript imports name the emitted .js file
    for candidate in [joined + s for s in _JS_SUFFIXES] + [stem + s for s in _JS_SUFFIXES]:
        if candidate in files:
            return candidate
    return None


def _rust_target(path: str, name: str, crates: list[str], files: dict[str, FileEntry]) -> str | None:
    """``mod x`` -> the sibling ``x.rs`` or ``x/mod.rs``; ``use crate::a::b`` -> ``src/a/b.rs`` (or the nearest
    module above it) of the crate holding ``path``."""
    here = PurePosixPath(path).parent
    if name.startswith("mod "):
        module = name[4:]
        stem = PurePosixPath(path).stem
        base = here if stem in ("main", "lib", "mod") else here / stem
        candidates = [base / f"{module}.rs", base / module / "mod.rs"]
    else:
        parts = name.split("::")
        crate = next((c for c in crates if c == "." or path.startswith(c + "/")), None)
        if parts[0] == "crate" and crate is not None:
            base = PurePosixPath(crate) / "src"
        elif parts[0] in ("self", "super"):
            base = here if parts[0] == "self" else here.parent
        else:
            return None  # another crate
        parts = [p for p in parts[1:] if p not in ("{", "}")]
        candidates = []
        for end in range(len(parts), 0, -1):  # `use crate::a::b::item`: the module is the longest existing prefix
            candidates += [base.joinpath(*parts[:end]).with_suffix(".rs"), base.joinpath(*parts[:end], "mod.rs")]
    for candidate in candidates:
        rel = posixpath.normpath(str(candidate))
        if rel in files and rel != path:
            return rel
    return None


def _go_modules(index: RepoIndex, root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in index.files:
        if PurePosixPath(path).name == "go.mod":
            try:
                match = _GO_MODULE.search((root / path).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            if match:
                out[match.group(1)] = str(PurePosixPath(path).parent)
    return out


def _go_targets(name: str, go_modules: dict[str, str], packages: dict[str, list[str]]) -> list[str]:
    for module, directory in go_modules.items():
        if name == module or name.startswith(module + "/"):
            rest = name[len(module):].lstrip("/")
            target = posixpath.normpath(f"{directory}/{rest}")
            return packages.get(target, [])
    return []


def _call_targets(index: RepoIndex) -> None:
    defined: dict[str, dict[str, str]] = {}
    for path, entry in index.files.items():
        names: dict[str, str] = {}
        for symbol in entry.symbols:
            if symbol.kind in _DEFINING:
                short = symbol.name.rsplit(".", 1)[-1]
                if symbol.kind != "method" or short not in names:
                    names[short] = symbol.name
        defined[path] = names
    for path, entry in index.files.items():
        scopes = [path, *entry.resolved_imports]
        for symbol in entry.symbols:
            targets: dict[str, None] = {}
            for call in symbol.calls:
                for scope in scopes:
                    full = defined[scope].get(call)
                    if full is None:
                        continue
                    if scope != path or full != symbol.name:  # recursion draws no edge
                        targets.setdefault(f"{scope}:{full}")
                    break
            symbol.targets = list(targets)


def _entry_points(index: RepoIndex, root: Path, modules: dict[str, str]) -> list[EntryPoint]:
    found: list[EntryPoint] = []
    for path, entry in sorted(index.files.items()):
        if not entry.entry_point:
            continue
        name = PurePosixPath(path).name
        if entry.language == "python":
            if name == "__main__.py":
                found.append(EntryPoint(path=path, kind="main_module", evidence=f"{path}: package __main__"))
            elif name.startswith("test_") or name.endswith("_test.py"):
                found.append(EntryPoint(path=path, kind="test", evidence=f"{path}: test file"))
            else:
                found.append(EntryPoint(path=path, kind="main_guard",
                                        evidence=f"{path}: if __name__ == '__main__'"))
        elif entry.language == "rust":
            kind = "test" if "/tests/" in f"/{path}" else "cargo_bin"
            found.append(EntryPoint(path=path, kind=kind, symbol=None if kind == "test" else "main",
                                    evidence=f"{path}: " + ("Rust integration test" if kind == "test"
                                                            else "Cargo binary")))
        elif entry.language == "go":
            kind = "test" if name.endswith("_test.go") else "go_main"
            found.append(EntryPoint(path=path, kind=kind, symbol=None if kind == "test" else "main",
                                    evidence=f"{path}: " + ("Go test file" if kind == "test" else "package main")))
        elif ".test." in name or ".spec." in name:
            found.append(EntryPoint(path=path, kind="test", evidence=f"{path}: test file"))
        else:
            found.append(EntryPoint(path=path, kind="script", evidence=f"{path}: script entry"))
    marked = {e.path for e in found}
    for path in sorted(p for p in index.files if "/" not in p and p in SCRIPT_NAMES and p not in marked):
        found.append(EntryPoint(path=path, kind="script", evidence=f"{path}: top-level script"))
    found += _console_scripts(index, root, modules)
    found += _package_json(index, root)
    return found


def _console_scripts(index: RepoIndex, root: Path, modules: dict[str, str]) -> list[EntryPoint]:
    if "pyproject.toml" not in index.files:
        return []
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    tables = {"[project.scripts]": data.get("project", {}).get("scripts", {}),
              "[project.gui-scripts]": data.get("project", {}).get("gui-scripts", {}),
              "[tool.poetry.scripts]": data.get("tool", {}).get("poetry", {}).get("scripts", {})}
    found: list[EntryPoint] = []
    for table, scripts in tables.items():
        for script, target in sorted(scripts.items() if isinstance(scripts, dict) else []):
            if not isinstance(target, str) or ":" not in target:
                continue
            module, _, func = target.partition(":")
            path = modules.get(module.strip())
            if path:
                found.append(EntryPoint(path=path, kind="console_script", symbol=func.strip(),
                                        evidence=f"pyproject.toml: {table} {script} = {target!r}"))
    return found


def _package_json(index: RepoIndex, root: Path) -> list[EntryPoint]:
    found: list[EntryPoint] = []
    for path in sorted(p for p in index.files if PurePosixPath(p).name == "package.json" and
                       "node_modules" not in p):
        try:
            data = json.loads((root / path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        base = PurePosixPath(path).parent
        bins = data.get("bin")
        targets = {"main": data.get("main")} | (
            {f"bin {k}": v for k, v in bins.items()} if isinstance(bins, dict) else {"bin": bins})
        for key, value in targets.items():
            if isinstance(value, str):
                target = posixpath.normpath(f"{base}/{value}")
                if target in index.files:
                    found.append(EntryPoint(path=target, kind="package_json", evidence=f"{path}: \"{key}\""))
    return found
