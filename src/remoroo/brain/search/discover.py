"""Plan without a model: pick a command and locate each metric, from the request only.

The engine sends the command candidates it found (README, Makefile,
pyproject scripts, ``__main__`` modules...), each with its evidence; the one
whose reachable code mentions the goal's metrics most wins. Each metric is sourced from, in
order: an engine probe, ``remoroo.emit`` calls, a JSON file the code writes
with that key, a printed ``NAME=value`` pattern in the code, or the same
pattern seen in the observations of a preflight run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from remoroo.model.plan import FILE_PROBES, PROBE_ALIASES, PROBES, SERVER_CODE, Instrument
from remoroo.protocol.wire import CommandCandidate, FileView

NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|True|False|true|false|nan|inf)"
JUNIT_PATH = ".remoroo-junit.xml"
TEST_COMMAND = f"python3 -m pytest -q -p no:cacheprovider --junitxml={JUNIT_PATH}"
TEST_FILE = re.compile(r"(^|/)(tests?/|test_[^/]*\.py$|[^/]*_test\.py$|conftest\.py$)")  # a test, never code to mutate
_LOGGED = re.compile(r"\blog(?:ger|ging)?\.(?:debug|info|warning|error|critical|exception)\(|sys\.stderr|"
                     r"file\s*=\s*sys\.stderr|console\.error\(|eprintln!")
_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)


@dataclass
class Ranked:
    """An engine-found command candidate with the files it reaches and how well they fit the goal."""

    run: str
    cwd: str
    env: dict[str, str]
    evidence: str
    entry: str | None
    service: str | None = None
    score: float = 0.0
    files: list[str] = field(default_factory=list)


def reachable(entry: str, files: dict[str, str]) -> list[str]:
    """The entry file and the repository modules it imports, transitively."""
    by_module = {_module_name(p): p for p in files if p.endswith(".py")}
    for path in [p for p in files if p.endswith(".py") and p.startswith("src/")]:  # a src/ layout imports as pkg.mod
        by_module.setdefault(_module_name(path[len("src/"):]), path)
    seen: list[str] = []
    todo = [entry]
    while todo:
        path = todo.pop(0)
        if path in seen or path not in files:
            continue
        seen.append(path)
        if not path.endswith(".py"):
            todo += [f for f in _native_imports(path, files) if f not in seen]
            continue
        base = str(PurePosixPath(path).parent).replace("/", ".")
        for match in _IMPORT.finditer(files[path]):
            name = match.group(1) or match.group(2)
            for candidate in (name, f"{base}.{name}" if base != "." else name, name.split(".")[0]):
                if candidate in by_module and by_module[candidate] not in seen:
                    todo.append(by_module[candidate])
    return seen


_JS_IMPORT = re.compile(r"""(?:require\(\s*|import\s*\(\s*|\bfrom\s+|^\s*import\s+)['"](\.{1,2}/[^'"]+)['"]""", re.M)
_RUST_MOD = re.compile(r"^\s*(?:pub\s+)?mod\s+(\w+)\s*;", re.M)
_JS_SUFFIXES = ("", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", "/index.js", "/index.ts")


def _native_imports(path: str, files: dict[str, str]) -> list[str]:
    """The repository files a JavaScript/TypeScript, Go or Rust file brings in: relative imports and requires,
    the other files of a Go package, a Rust module's ``mod`` files."""
    text, folder = files.get(path, ""), PurePosixPath(path).parent
    found: list[str] = []
    if path.endswith((".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")):
        for rel in _JS_IMPORT.findall(text):
            base = _normal(folder / rel)
            found += [base + suffix for suffix in _JS_SUFFIXES if base + suffix in files][:1]
    elif path.endswith(".go"):
        found += [f for f in files if f.endswith(".go") and PurePosixPath(f).parent == folder
                  and not f.endswith("_test.go")]
    elif path.endswith(".rs"):
        for name in _RUST_MOD.findall(text):
            found += [c for c in (str(folder / f"{name}.rs"), str(folder / name / "mod.rs")) if c in files][:1]
    return found


def _normal(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _module_name(path: str) -> str:
    pure = PurePosixPath(path)
    parts = list(pure.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def command_candidates(views: list[FileView], metrics: list[str], given: list[CommandCandidate]) -> list[Ranked]:
    """The engine's candidates, ranked: the metrics named in the code each one reaches, README first."""
    files = {v.path: v.content for v in views if v.content is not None}
    ranked: list[Ranked] = []
    for cand in given:
        if cand.source == "tests":
            continue  # the suite is added beside the main command when a tests_* metric asks for it
        item = Ranked(run=cand.run, cwd=cand.cwd, env=cand.env, evidence=cand.evidence, entry=cand.entry,
                      service=cand.service)
        item.files = reachable(cand.entry, files) if cand.entry else []
        if cand.service_entry:
            item.files += [f for f in reachable(cand.service_entry, files) if f not in item.files]
        text = "\n".join(files[f] for f in item.files)
        item.score = sum(3.0 for m in metrics if m in text) + (1.0 if cand.source == "readme" else 0.0)
        if cand.entry and SERVER_CODE.search(files.get(cand.entry, "")) and not cand.service:
            item.score -= 10.0  # a server alone never finishes
        if cand.service:
            item.score += 2.0  # measured the way the README says: against the running service
        if not item.files:
            item.score -= 1.0  # nothing shown that it runs: make targets and the like come after code we can see
        ranked.append(item)
    return sorted(ranked, key=lambda c: (-c.score, c.run))


def source_metric(metric: str, command: Ranked, views: list[FileView],
                  observations: dict[str, str], command_name: str, flag: bool = False) -> Instrument | None:
    """Where ``metric`` comes from, or None when the shown files do not say. With ``flag`` (the target compares
    it with true/false), a count of passed tests is asked as the yes/no 'every test passed'."""
    probe = PROBE_ALIASES.get(metric, metric)
    if flag and probe == "tests_passed":
        probe = "tests_pass"
    if probe in FILE_PROBES and probe != "coverage":
        if not any(re.search(r"(^|/)test_[^/]*\.py$|_test\.py$", v.path) for v in views):
            return None  # no tests to run
        return Instrument(metric=metric, source="probe", probe=probe, command="tests", path=JUNIT_PATH)
    if probe in PROBES and probe != "coverage":
        return Instrument(metric=metric, source="probe", probe=probe, command=command_name)
    files = {v.path: v.content for v in views if v.content is not None}
    texts = [files[f] for f in (command.files or list(files))]
    quoted = re.escape(metric)
    for text in texts:
        if re.search(rf"""emit\(\s*['"]{quoted}['"]""", text):
            return Instrument(metric=metric, source="emit", command=command_name)
    for text in texts:
        if re.search(rf"""['"]{quoted}['"]\s*:""", text) and "json" in text:
            path = re.search(r"""['"]([\w./\-]+\.json)['"]""", text)
            if path:
                return Instrument(metric=metric, source="json_artifact", path=path.group(1), key=metric)
    pattern = rf"(?<![\w.]){quoted}\s*[:=]\s*{NUMBER}"
    lines = [line for t in texts for line in t.splitlines() if re.search(rf"{quoted}\s*[:=]", line)]
    seen = {key.rsplit(".", 1)[-1] for key, out in observations.items() if re.search(pattern, out)}
    if lines or seen:
        logged = (seen and "stdout" not in seen) or (lines and all(_LOGGED.search(line) for line in lines))
        return Instrument(metric=metric, source="stdout", command=command_name, pattern=pattern,
                          stream="stderr" if logged else "stdout")
    if any(re.search(rf"^[ \t]*{quoted}\s*=(?!=)", t, re.M) for t in texts):
        # computed but never reported: plan an emit, which the instrument call then adds
        return Instrument(metric=metric, source="emit", command=command_name)
    return None
