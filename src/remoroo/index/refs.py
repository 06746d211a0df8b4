"""What a planned command line refers to, checked against the repository before anything runs (``command_defects``).

A command is refused when it names a file that does not exist (a patch may
not create what is measured), a Makefile target the Makefile does not define, a
repository Python module that is not there (``python3 -m pkg.missing``), or
an npm script that ``package.json`` does not have. Programs on PATH and
packages from elsewhere are not second-guessed.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path, PurePosixPath

from remoroo.model.plan import Plan, inside

FILE_EXTS = {".py", ".sh", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".rb", ".pl", ".json", ".toml",
             ".yaml", ".yml", ".cfg", ".ini", ".txt", ".csv", ".r", ".jl", ".lua"}
_RULE = re.compile(r"^([A-Za-z0-9_][^:=#%\t]*?)\s*::?(?![=:])")
_SHELL_OPS = {"&&", "||", ";", "|"}


def words(run: str) -> list[list[str]]:
    """The simple commands of a command line (split at ``&&``, ``||``, ``;`` and ``|``), environment assignments
    dropped."""
    try:
        tokens = shlex.split(run, comments=True)
    except ValueError:
        return []
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token in _SHELL_OPS:
            parts.append([])
        elif parts[-1] or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
            parts[-1].append(token)
    return [p for p in parts if p]


def file_refs(run: str) -> list[str]:
    """Tokens of a command line that name files of the repository."""
    refs: list[str] = []
    base = PurePosixPath(".")
    for tokens in words(run):
        if tokens[0] == "cd" and len(tokens) == 2:
            base = base / tokens[1]  # later parts run there
            continue
        if tokens[0].startswith("./"):
            refs.append(str(base / tokens[0][2:]))
        for token in tokens[1:]:
            if token.startswith("-") or "=" in token or any(ch in token for ch in "*?$`|;&<>(){}"):
                continue
            if PurePosixPath(token).suffix.lower() in FILE_EXTS and "::" not in token and "://" not in token:
                refs.append(str(base / token))
    return refs


def make_rules(text: str) -> list[tuple[int, list[str]]]:
    """(line, targets) of a Makefile's explicit rules: no variables, pattern rules or special ``.TARGETS``."""
    rules: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        match = _RULE.match(line)
        if match:
            rules.append((lineno, match.group(1).split()))
    return rules


def tool_defects(name: str, run: str, root: Path, cwd_rel: str = ".") -> list[str]:
    """Make targets, repository modules and npm scripts the command names but the repository lacks."""
    cwd = root / cwd_rel
    where = "the repository root" if cwd_rel in (".", "") else f"{cwd_rel!r}"
    defects: list[str] = []
    for tokens in words(run):
        program = PurePosixPath(tokens[0]).name
        if program == "make":
            defects += _make(name, tokens[1:], cwd, where)
        elif re.fullmatch(r"python(3(\.\d+)?)?", program) and "-m" in tokens[1:-1]:
            defects += _module(name, tokens[tokens.index("-m") + 1], cwd)
        elif program == "npm" and len(tokens) > 1:
            script = tokens[2] if tokens[1] in ("run", "run-script") and len(tokens) > 2 else \
                tokens[1] if tokens[1] in ("test", "start") else None
            if script:
                defects += _npm(name, script, cwd, where)
    return defects


def _make(name: str, args: list[str], cwd: Path, where: str) -> list[str]:
    if any(a.startswith(("-f", "-C", "--file", "--directory")) for a in args):
        return []  # another makefile or folder: not ours to guess
    makefile = next((cwd / n for n in ("GNUmakefile", "makefile", "Makefile") if (cwd / n).is_file()), None)
    if makefile is None:
        return [f"command {name!r} runs make, but there is no Makefile in {where}"]
    text = makefile.read_text(encoding="utf-8", errors="replace")
    if re.search(r"^\s*-?include\b|^%|^[^\s#]*%[^:]*:", text, re.M):
        return []  # included makefiles or pattern rules: targets cannot be listed from this file alone
    defined = {t for _, targets in make_rules(text) for t in targets}
    missing = [a for a in args if not a.startswith("-") and "=" not in a and a not in defined]
    return [f"command {name!r} runs make target {t!r}, which {makefile.name} does not define "
            f"(it has: {', '.join(sorted(defined)) or 'none'})" for t in missing]


def _module(name: str, module: str, cwd: Path) -> list[str]:
    parts = module.split(".")
    for base in (cwd, cwd / "src"):
        top = base / parts[0]
        if not (top.is_dir() or top.with_suffix(".py").is_file()):
            continue
        target = base.joinpath(*parts)
        if target.with_suffix(".py").is_file() or (target / "__init__.py").is_file() or (
                target / "__main__.py").is_file() or target.is_dir():
            return []
        return [f"command {name!r} runs module {module!r}, which is not in the repository "
                f"({'/'.join(parts)}.py does not exist)"]
    return []  # not a repository module: the standard library or an installed package


def _npm(name: str, script: str, cwd: Path, where: str) -> list[str]:
    manifest = cwd / "package.json"
    if not manifest.is_file():
        return [f"command {name!r} runs npm script {script!r}, but there is no package.json in {where}"]
    try:
        scripts = json.loads(manifest.read_text(encoding="utf-8")).get("scripts", {})
    except (ValueError, AttributeError):
        return [f"command {name!r}: package.json in {where} is not valid JSON"]
    if script not in scripts and script != "start":
        return [f"command {name!r} runs npm script {script!r}, which package.json does not define "
                f"(it has: {', '.join(sorted(scripts)) or 'none'})"]
    return []


def command_defects(plan: Plan, root: Path) -> list[str]:
    """What each command names exists in the repository: its cwd, files, make targets, modules, scripts."""
    defects: list[str] = []
    seen: set[str] = set()
    for cmd in plan.commands:
        if cmd.name in seen:
            defects.append(f"command name {cmd.name!r} is used twice")
        seen.add(cmd.name)
        if not inside(cmd.cwd):
            defects.append(f"command {cmd.name!r}: cwd {cmd.cwd!r} is outside the repository")
            continue
        if not (root / cmd.cwd).is_dir():
            defects.append(f"command {cmd.name!r}: cwd {cmd.cwd!r} does not exist")
            continue
        defects += tool_defects(cmd.name, cmd.run, root, cmd.cwd)
        for ref in file_refs(cmd.run):
            rel = str(PurePosixPath(cmd.cwd) / ref) if cmd.cwd != "." else ref
            rel = str(PurePosixPath(rel))
            if not inside(rel):
                defects.append(f"command {cmd.name!r} references {ref!r}, outside the repository")
            elif not (root / rel).exists():
                defects.append(f"command {cmd.name!r} references {ref!r}, which does not exist in the repository (a "
                               "plan measures what the repository holds, not what a patch would create)")
    return defects


_PRINTERS = {"echo", "printf", "cat", "tee", "yes", "cp", "mv", "ln", "touch", "dd", "install"}
_COPIERS = {"cat", "head", "tail", "less", "more", "tac", "nl", "strings"}  # they print a file's text
_HOOK_ENV = {"LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONINSPECT",
             "PYTHONBREAKPOINT", "NODE_OPTIONS", "PERL5OPT", "RUBYOPT", "BASH_ENV", "ENV", "PYTEST_ADDOPTS",
             "PYTEST_PLUGINS", "COVERAGE_PROCESS_START", "METRICS_EMIT_FILE", "METRICS_INPUTS_FILE", "METRICS_TREE"}
_INLINE = {"-c", "-e", "--eval", "-E"}
_MASKS = {"true", ":", "false"}
_BRANCHES = {"test", "[", "[[", "if", "case"}


def measurement_defects(plan: Plan) -> list[str]:
    """A plan may not measure something of its own making: its commands run the repository's code, nothing else.

    Refused: a command that prints or writes metric-shaped text itself (``...; echo acc=1``, an inline
    ``python -c`` that prints a label, a copy onto a metric artifact), sleeps, branches on files
    (``test -f MARKER``), or masks an exit status (``|| true``).
    """
    labels = _labels(plan)
    artifacts = {i.path for i in plan.instrumentation if i.path}
    defects: list[str] = []
    for cmd in plan.commands:
        where = f"command {cmd.name!r}"
        parts = [w for piece in re.split(r"\|\||&&|;|\||\n|&(?!\d)", cmd.run) for w in words(piece)]
        for i, tokens in enumerate(parts):
            program = PurePosixPath(tokens[0]).name
            text = " ".join(tokens[1:])
            if program == "sleep":
                defects.append(f"{where} sleeps: a measurement times the repository's code, not a pause")
            elif program in _BRANCHES:
                defects.append(f"{where} branches on the file system ({' '.join(tokens)[:60]}): "
                               "what is measured may not depend on marker files")
            elif program in _MASKS and i > 0 or tokens[:2] == ["exit", "0"]:
                defects.append(f"{where} masks the exit status ({' '.join(tokens)}): drop it")
            elif (program in _PRINTERS or any(t in _INLINE for t in tokens[1:2])) and (
                    _labelled(text, labels) or any(a in tokens for a in artifacts)):
                defects.append(f"{where} prints or writes a metric itself ({' '.join(tokens)[:80]}): the metric "
                               "must come from the repository's code")
            elif program in _COPIERS and any(not t.startswith("-") and ("." in t or "/" in t) for t in tokens[1:]):
                defects.append(f"{where} prints a file into the measurement ({' '.join(tokens)[:80]}): "
                               "a metric comes from running the code, not from a file")
        for name, value in cmd.env.items():
            if name in _HOOK_ENV or name.startswith("FAKETIME") or _labelled(value, labels):
                defects.append(f"{where} sets {name} in its environment: a plan may not inject code, fake the "
                               "clock or set metric values")
        if re.search(r">\s*(" + "|".join(re.escape(a) for a in artifacts) + r")\b", cmd.run) and artifacts:
            defects.append(f"{where} redirects output onto a metric artifact: the program must write it")
    return defects


def _labels(plan: Plan) -> set[str]:
    found = {inst.label for inst in plan.instrumentation} | {inst.metric for inst in plan.instrumentation}
    return {f for f in found if len(f) > 1}


def _labelled(text: str, labels: set[str]) -> bool:
    return any(re.search(rf"(?<![\w]){re.escape(label)}\W{{0,3}}\s*[=:]", text) for label in labels)
