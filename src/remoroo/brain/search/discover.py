"""Plan without a model: pick a command and locate each metric, from the shown files only.

Command candidates come from ``if __name__ == "__main__"`` modules, README
code blocks and Makefile targets, each with its evidence; the one whose code
mentions the goal's metrics most wins. Each metric is sourced from, in
order: an engine probe, ``remoroo.emit`` calls, a JSON file the code writes
with that key, a printed ``NAME=value`` pattern in the code, or the same
pattern seen in the observations of a preflight run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from remoroo.brain.protocol import FileView
from remoroo.plan import FILE_PROBES, PROBE_ALIASES, PROBES, Instrument

NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|True|False|true|false|nan|inf)"
JUNIT_PATH = ".remoroo-junit.xml"
TEST_COMMAND = f"python3 -m pytest -q -p no:cacheprovider --junitxml={JUNIT_PATH}"
_README_CMD = re.compile(r"^\s*(?:\$\s*)?((?:python3?|make|pytest|\./)\S*(?:\s+\S+)*)\s*$")
_MAIN_GUARD = re.compile(r"""if\s+__name__\s*==\s*['"]__main__['"]\s*:""")
_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)


@dataclass
class CommandCandidate:
    run: str
    evidence: str
    entry: str | None
    score: float = 0.0
    files: list[str] = field(default_factory=list)
    service: str | None = None
    service_entry: str | None = None


_SERVER = re.compile(r"serve_forever|HTTPServer|socketserver|uvicorn\.run|\bapp\.run\(|asyncio\.start_server")
_PORT_ARG = re.compile(r"(--port[= ])\d{2,5}\b")
_PORT_URL = re.compile(r"((?:localhost|127\.0\.0\.1):)\d{2,5}\b")


def with_port_placeholder(run: str) -> str | None:
    """``run`` with its literal port replaced by ``{port}``, or None if it names no port."""
    replaced = _PORT_URL.sub(r"\1{port}", _PORT_ARG.sub(r"\1{port}", run))
    return replaced if replaced != run else None


def _service_candidates(readme: str, text: str, files: dict[str, str]) -> list[CommandCandidate]:
    """README lines that start a server (backgrounded with '&' or a server module) followed by a client."""
    found: list[CommandCandidate] = []
    commands = _readme_commands(text)
    for (line, first), (_, second) in zip(commands, commands[1:], strict=False):
        server_run = first.rstrip("& ").strip()
        entry = _entry_of(server_run, files)
        is_server = first.rstrip().endswith("&") or (entry is not None and bool(_SERVER.search(files[entry])))
        service, client = with_port_placeholder(server_run), with_port_placeholder(second)
        if is_server and service and client:
            found.append(CommandCandidate(client, f"{readme}:{line}: README server and client",
                                          _entry_of(client, files), service=service, service_entry=entry))
    return found


def reachable(entry: str, files: dict[str, str]) -> list[str]:
    """The entry file and the repository modules it imports, transitively."""
    by_module = {_module_name(p): p for p in files if p.endswith(".py")}
    seen: list[str] = []
    todo = [entry]
    while todo:
        path = todo.pop(0)
        if path in seen or path not in files:
            continue
        seen.append(path)
        base = str(PurePosixPath(path).parent).replace("/", ".")
        for match in _IMPORT.finditer(files[path]):
            name = match.group(1) or match.group(2)
            for candidate in (name, f"{base}.{name}" if base != "." else name, name.split(".")[0]):
                if candidate in by_module and by_module[candidate] not in seen:
                    todo.append(by_module[candidate])
    return seen


def _module_name(path: str) -> str:
    pure = PurePosixPath(path)
    parts = list(pure.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def command_candidates(views: list[FileView], metrics: list[str]) -> list[CommandCandidate]:
    files = {v.path: v.content for v in views if v.content is not None}
    found: dict[str, CommandCandidate] = {}
    for path, text in files.items():
        name = PurePosixPath(path).name
        if path.endswith(".py") and _MAIN_GUARD.search(text) and not name.startswith(("test_", "setup")):
            found.setdefault(f"python3 {path}", CommandCandidate(f"python3 {path}", f"{path}: __main__ guard", path))
        if path.endswith(".py") and "/" not in path and name in ("main.py", "run.py", "train.py", "bench.py"):
            found.setdefault(f"python3 {path}", CommandCandidate(f"python3 {path}", f"{path}: top-level script", path))
        if name.lower().startswith("readme"):
            pairs = _service_candidates(path, text, files)
            for cand in pairs:
                found.setdefault(f"{cand.service} ; {cand.run}", cand)
            clients = {c.run for c in pairs}
            for lineno, run in _readme_commands(text):
                entry = _entry_of(run, files)
                if not run.rstrip().endswith("&") and with_port_placeholder(run) not in clients:
                    found.setdefault(run, CommandCandidate(run, f"{path}:{lineno}: README code block", entry))
    for cand in found.values():
        cand.files = reachable(cand.entry, files) if cand.entry else []
        if cand.service_entry:
            cand.files += [f for f in reachable(cand.service_entry, files) if f not in cand.files]
        text = "\n".join(files[f] for f in cand.files)
        cand.score = sum(3.0 for m in metrics if m in text) + (1.0 if "README" in cand.evidence else 0.0)
        if cand.entry and _SERVER.search(files.get(cand.entry, "")) and not cand.service:
            cand.score -= 10.0  # a server alone never finishes
        if cand.service:
            cand.score += 2.0  # measured the way the README says: against the running service
    return sorted(found.values(), key=lambda c: (-c.score, c.run))


def _readme_commands(text: str) -> list[tuple[int, str]]:
    commands: list[tuple[int, str]] = []
    fenced = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        inline = re.findall(r"`((?:python3?|make)\s[^`]+)`", line)
        if fenced:
            match = _README_CMD.match(line)
            if match:
                commands.append((lineno, match.group(1).strip()))
        commands += [(lineno, c.strip()) for c in inline]
    return commands


def _entry_of(run: str, files: dict[str, str]) -> str | None:
    for token in run.split()[1:]:
        if token in files:
            return token
    return None


def source_metric(metric: str, command: CommandCandidate, views: list[FileView],
               observations: dict[str, str], command_name: str) -> Instrument | None:
    """Where ``metric`` comes from, or None when the shown files do not say."""
    probe = PROBE_ALIASES.get(metric, metric)
    if probe in FILE_PROBES and probe != "coverage":
        if not any(re.search(r"(^|/)test_[^/]*\.py$|_test\.py$", v.path) for v in views):
            return None  # no tests to run
        return Instrument(metric=metric, source="probe", probe=probe, command="tests", path=JUNIT_PATH)  # type: ignore[arg-type]
    if probe in PROBES and probe != "coverage":
        return Instrument(metric=metric, source="probe", probe=probe, command=command_name)  # type: ignore[arg-type]
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
    printed = any(re.search(rf"{quoted}\s*[:=]", t) for t in texts)
    seen = any(re.search(pattern, out) for key, out in observations.items() if key.endswith("stdout"))
    if printed or seen:
        return Instrument(metric=metric, source="stdout", command=command_name, pattern=pattern)
    if any(re.search(rf"^[ \t]*{quoted}\s*=(?!=)", t, re.M) for t in texts):
        # computed but never reported: plan an emit, which the instrument call then adds
        return Instrument(metric=metric, source="emit", command=command_name)
    return None
