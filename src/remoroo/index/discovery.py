"""Command discovery: what the repository itself says how to run it, each with its evidence.

Candidates come from README code blocks (a backgrounded server followed by a
client becomes one service + client candidate, ports turned into
``{port}``), Makefile targets, ``pyproject.toml`` console scripts,
``__main__`` modules and guards, top-level scripts, ``package.json`` scripts,
Go ``main`` packages and the test runners a repository is set up for. They go
to the brain in the plan request; the brain chooses, and the engine runs only
the commands of the validated plan.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from remoroo.index import RepoIndex
from remoroo.index.refs import make_rules
from remoroo.model.plan import SERVER_CODE
from remoroo.protocol.wire import CommandCandidate

MAX_CANDIDATES = 40
_README = re.compile(r"^readme(\.(md|rst|txt|markdown))?$", re.I)
_MAKEFILES = ("Makefile", "makefile", "GNUmakefile")
_README_CMD = re.compile(r"^\s*(?:\$\s*)?((?:python3?|make|pytest|node|npm|go|cargo|uv|\./)\S*(?:\s+\S+)*)\s*$")
_INLINE_CMD = re.compile(r"`((?:python3?|make|pytest|node|npm|go)\s[^`]+)`")
_SETUP = re.compile(r"\b(pip3?|uv|poetry|conda|npm|yarn|pnpm|go|cargo|apt(-get)?|brew)\s+"
                    r"(install|add|ci|sync|get|mod)\b"
                    r"|-m\s+(venv|pip)\b|\bvirtualenv\b|^make\s+(install|clean|distclean|setup|venv|deps|lint|fmt|"
                    r"format|docs|help|release|publish|upload)\b|^npm\s+run\s+(lint|format|prepare|build:docs)\b")
_PORT_ARG = re.compile(r"(--port[= ])\d{2,5}\b")
_PORT_URL = re.compile(r"((?:localhost|127\.0\.0\.1):)\d{2,5}\b")
_PYTEST_CONFIG = ("pytest.ini", "conftest.py")


def with_port_placeholder(run: str) -> str | None:
    """``run`` with its literal port replaced by ``{port}``, or None if it names no port."""
    replaced = _PORT_URL.sub(r"\1{port}", _PORT_ARG.sub(r"\1{port}", run))
    return replaced if replaced != run else None


def discover_commands(root: Path, index: RepoIndex) -> list[CommandCandidate]:
    """Every candidate, README and Makefile first (what the authors wrote down), then code entry points.

    Setup and housekeeping commands (installs, virtualenvs, cleaning, formatting) are left out: they
    measure nothing, and an install would change the machine outside the run's workspace.
    """
    found: dict[tuple[str, str, str | None], CommandCandidate] = {}
    for cand in [*_readme(root, index), *_makefile(root, index), *_entry_points(root, index),
                 *_package_json(root, index), *_tests(index)]:
        if not _SETUP.search(cand.run):
            found.setdefault((cand.run, cand.cwd, cand.service), cand)
    return list(found.values())[:MAX_CANDIDATES]


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _shallow(path: str, depth: int = 2) -> bool:
    return path.count("/") < depth


def _entry_of(run: str, base: str, index: RepoIndex) -> str | None:
    tokens = run.split()
    for i, token in enumerate(tokens[1:], 1):
        if token == "-m" and i + 1 < len(tokens):  # python3 -m pkg.mod: the module's file
            module = tokens[i + 1].replace(".", "/")
            for rel in (f"{module}.py", f"{module}/__main__.py", f"src/{module}.py", f"src/{module}/__main__.py"):
                rel = str(PurePosixPath(base) / rel) if base not in ("", ".") else rel
                if rel in index.files:
                    return rel
        rel = str(PurePosixPath(base) / token) if base not in ("", ".") else token
        if rel in index.files:
            return rel
    return None


def _in_package(path: str, index: RepoIndex) -> bool:
    """A module inside a package (its folder has an __init__.py): run with -m, so its package imports resolve."""
    parent = PurePosixPath(path).parent
    return str(parent) not in ("", ".") and str(parent / "__init__.py") in index.files


def readme_commands(text: str) -> list[tuple[int, str]]:
    """(line, command) of the shell commands in a README's code blocks and inline code."""
    commands: list[tuple[int, str]] = []
    fenced = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            match = _README_CMD.match(line)
            if match:
                commands.append((lineno, match.group(1).strip()))
        else:
            commands += [(lineno, c.strip()) for c in _INLINE_CMD.findall(line)]
    return commands


def _readme(root: Path, index: RepoIndex) -> list[CommandCandidate]:
    out: list[CommandCandidate] = []
    for path in sorted(p for p in index.files if _shallow(p) and _README.match(PurePosixPath(p).name)):
        base = str(PurePosixPath(path).parent)
        commands = readme_commands(_read(root, path))
        clients: set[str] = set()
        for (line, first), (_, second) in zip(commands, commands[1:], strict=False):
            server_run = first.rstrip("& ").strip()
            entry = _entry_of(server_run, base, index)
            is_server = first.rstrip().endswith("&") or (
                entry is not None and bool(SERVER_CODE.search(_read(root, entry))))
            service, client = with_port_placeholder(server_run), with_port_placeholder(second)
            if is_server and service and client:
                clients.add(client)
                out.append(CommandCandidate(run=client, cwd=base, source="readme", service=service,
                                            service_entry=entry, entry=_entry_of(client, base, index),
                                            evidence=f"{path}:{line}: README starts a server, then a client"))
        for line, run in commands:
            if run.rstrip().endswith("&") or with_port_placeholder(run) in clients:
                continue
            out.append(CommandCandidate(run=run, cwd=base, source="readme", entry=_entry_of(run, base, index),
                                        evidence=f"{path}:{line}: README code block"))
    return out


def _makefile(root: Path, index: RepoIndex) -> list[CommandCandidate]:
    out: list[CommandCandidate] = []
    for path in sorted(p for p in index.files if _shallow(p) and PurePosixPath(p).name in _MAKEFILES):
        base = str(PurePosixPath(path).parent)
        text = _read(root, path)
        lines = text.splitlines()
        for lineno, targets in make_rules(text):
            recipe = [r.strip().lstrip("@-") for r in lines[lineno:lineno + 5] if r.startswith("\t")]
            first = recipe[0] if recipe else ""
            for target in targets:
                out.append(CommandCandidate(
                    run=f"make {target}", cwd=base, source="makefile", entry=_entry_of(first, base, index),
                    evidence=f"{path}:{lineno}: Makefile target {target!r}" + (f" runs `{first}`" if first else "")))
    return out


def _module_of(path: str) -> tuple[str, dict[str, str]]:
    """(dotted module, environment) to run ``path`` with ``python3 -m``."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts[-1] == "__main__":
        parts = parts[:-1]
    if parts and parts[0] == "src" and len(parts) > 1:
        return ".".join(parts[1:]), {"PYTHONPATH": "src"}
    return ".".join(parts), {}


def _entry_points(root: Path, index: RepoIndex) -> list[CommandCandidate]:
    out: list[CommandCandidate] = []
    for point in index.entry_points:
        path = point.path
        if point.kind == "console_script" and point.symbol:
            module, env = _module_of(path)
            run = f'python3 -c "import sys; from {module} import {point.symbol}; sys.exit({point.symbol}())"'
            out.append(CommandCandidate(run=run, env=env, source="console_script", entry=path,
                                        evidence=point.evidence))
        elif point.kind == "main_module":
            module, env = _module_of(path)
            if module:
                out.append(CommandCandidate(run=f"python3 -m {module}", env=env, source="main_module", entry=path,
                                            evidence=point.evidence))
        elif point.kind == "main_guard" and not PurePosixPath(path).name.startswith("setup"):
            if _in_package(path, index):
                module, env = _module_of(path)
                out.append(CommandCandidate(run=f"python3 -m {module}", env=env, source="main_guard", entry=path,
                                            evidence=point.evidence))
            else:
                out.append(CommandCandidate(run=f"python3 {path}", source="main_guard", entry=path,
                                            evidence=point.evidence))
        elif point.kind == "go_main":
            directory = str(PurePosixPath(path).parent)
            out.append(CommandCandidate(run="go run .", cwd=directory, source="go", entry=path,
                                        evidence=point.evidence))
        elif point.kind == "cargo_bin":
            crate = _crate_of(path, index)
            if crate is not None:
                parts = PurePosixPath(path).parts
                run = f"cargo run --bin {PurePosixPath(path).stem}" if "bin" in parts[:-1] else "cargo run"
                out.append(CommandCandidate(run=run, cwd=crate, source="cargo", entry=path, evidence=point.evidence))
        elif point.kind in ("script", "package_json") and path.endswith((".js", ".mjs", ".cjs")):
            out.append(CommandCandidate(run=f"node {path}", source="script", entry=path, evidence=point.evidence))
        elif point.kind == "script" and path.endswith(".py"):
            out.append(CommandCandidate(run=f"python3 {path}", source="script", entry=path, evidence=point.evidence))
    return out


def _package_json(root: Path, index: RepoIndex) -> list[CommandCandidate]:
    out: list[CommandCandidate] = []
    for path in sorted(p for p in index.files if _shallow(p, 3) and PurePosixPath(p).name == "package.json"):
        try:
            scripts = json.loads(_read(root, path)).get("scripts", {})
        except (ValueError, AttributeError):
            continue
        base = str(PurePosixPath(path).parent)
        for name, body in (scripts.items() if isinstance(scripts, dict) else []):
            if isinstance(body, str) and not name.startswith(("pre", "post")):
                run = "npm test" if name == "test" else f"npm run {name}"
                out.append(CommandCandidate(run=run, cwd=base, source="package_json",
                                            entry=_entry_of(body, base, index),
                                            evidence=f"{path}: scripts.{name} = {body!r}"))
    return out


def _tests(index: RepoIndex) -> list[CommandCandidate]:
    out: list[CommandCandidate] = []
    python_tests = [p.path for p in index.entry_points if p.kind == "test" and p.path.endswith(".py")]
    configured = [p for p in index.files if PurePosixPath(p).name in _PYTEST_CONFIG and _shallow(p)]
    if python_tests or configured:
        shown = (python_tests or configured)[0]
        more = len(python_tests) - 1
        out.append(CommandCandidate(run="python3 -m pytest -q", source="tests", evidence=(
            f"{shown}: test file" + (f" (and {more} more)" if more > 0 else "") if python_tests
            else f"{shown}: pytest configuration")))
    for path in sorted(p for p in index.files if PurePosixPath(p).name == "Cargo.toml"):
        out.append(CommandCandidate(run="cargo test", cwd=str(PurePosixPath(path).parent), source="tests",
                                    evidence=f"{path}: Cargo crate"))
    for path in sorted(p for p in index.files if PurePosixPath(p).name == "go.mod"):
        directory = str(PurePosixPath(path).parent)
        prefix = "" if directory == "." else directory + "/"
        if any(p.kind == "test" and p.path.endswith(".go") and p.path.startswith(prefix) for p in index.entry_points):
            out.append(CommandCandidate(run="go test ./...", cwd=directory, source="tests",
                                        evidence=f"{path}: Go module with _test.go files"))
    return out


def _crate_of(path: str, index: RepoIndex) -> str | None:
    """The folder of the nearest Cargo.toml above ``path``."""
    folder = PurePosixPath(path).parent
    while True:
        manifest = "Cargo.toml" if str(folder) == "." else f"{folder}/Cargo.toml"
        if manifest in index.files:
            return str(folder)
        if str(folder) == ".":
            return None
        folder = folder.parent
