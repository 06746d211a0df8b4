"""The trust boundary, file by file: what a patch may change, and what is protected whatever the plan says.

Protected always (``why_protected``): the engine's helper and configuration,
test configuration (``pytest.ini``, ``setup.cfg``, ``tox.ini``,
``pyproject.toml``, ``conftest.py``, ``.gitignore``), existing tests (unless
the goal is about tests and the plan names them), evaluators, verifiers and
benchmark harnesses, metric artifacts, the plan's own protected paths, and
every file the measured commands read at baseline (observed, not guessed by
suffix). The sandbox mounts these read-only at run time too.

Editable (``boundary.why_outside``): only what the plan's patch intents name, widened
by the user (``--editable GLOB``). A new code file may be added in a folder
that holds an editable file; any other new file must be named by an intent.
When no intent names a file, the code outside the measurement (every source
file not protected) is the editable area. Only the user lifts a protection,
with ``allow_paths`` or ``--allow RULE:PATH``; a brain cannot.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from pathlib import PurePosixPath

from remoroo.model.plan import FILE_PROBES, Plan

ENGINE = ("remoroo.py", "remoroo/*", ".remoroo/*", "sitecustomize.py", "*/sitecustomize.py", "usercustomize.py",
          "*/usercustomize.py", "*.pth")
CONFIG_NAMES = {"remoroo.toml", ".gitignore", ".gitattributes", "pytest.ini", ".pytest.ini", "setup.cfg", "tox.ini",
                "pyproject.toml", "conftest.py", ".coveragerc", "noxfile.py", ".env", "pyvenv.cfg"}
TESTS = ("tests/*", "test/*", "*/tests/*", "*/test/*", "test_*.py", "*/test_*.py", "*_test.py", "*/*_test.py")
HARNESS = re.compile(r"^(eval|evaluate|evaluation|evaluator|verify|verifier|bench|benchmark|benchmarks|grade|grader|"
                     r"scoring|metrics?|judge|checker)(_[\w.]*)?(\.py|\.sh)?$")
CODE_SUFFIXES = {".py", ".pyx", ".pxd", ".c", ".h", ".cc", ".cpp", ".hpp", ".rs", ".go", ".js", ".mjs", ".ts",
                 ".java", ".kt", ".rb", ".jl", ".r", ".lua", ".zig", ".swift", ".scala", ".cs", ".php"}


def is_config(path: str) -> bool:
    return PurePosixPath(path).name.lower() in CONFIG_NAMES


@functools.lru_cache(maxsize=1 << 16)
def is_test(path: str) -> bool:
    return any(_matches(path, pattern) for pattern in TESTS)


@functools.lru_cache(maxsize=1 << 16)
def _by_name(path: str) -> tuple[str | None, str | None]:
    """The reasons that follow from the path alone: (engine or configuration, evaluator or harness).

    Asked for every file of the tree on every command execution and every brain request: answered once."""
    first = None
    if any(_matches(path, pattern) for pattern in ENGINE):
        first = "the engine's helper or an interpreter start-up hook"
    elif is_config(path):
        first = "engine, test or build configuration"
    harness = any(HARNESS.match(part) for part in PurePosixPath(path).parts)
    return first, "an evaluator, verifier or benchmark harness" if harness else None


def is_code(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in CODE_SUFFIXES


def artifacts(plan: Plan) -> list[str]:
    """Files the measured commands must write: metric artifacts and report probes."""
    return [i.path for i in plan.instrumentation
            if i.path and (i.source == "json_artifact" or i.probe in FILE_PROBES)]


def why_protected(path: str, plan: Plan, inputs: frozenset[str] = frozenset(),
                  tests_editable: frozenset[str] = frozenset()) -> str | None:
    """The reason ``path`` is protected whatever the plan's intents say, or None."""
    first, harness = _by_name(path)
    if first is not None:
        return first
    if path in artifacts(plan):
        return "a metric artifact the run must write"
    for pattern in plan.protected_paths:
        if _matches(path, pattern):
            return f"the plan protects {pattern!r}"
    if path in inputs:
        return "an input the measured commands read at baseline"
    if is_test(path) and path not in tests_editable:
        return "a test"
    return harness


def _matches(path: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip("/")
    if not pattern:
        return False
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern or path.startswith(pattern + "/")


CHURN_SUFFIXES = (".md", ".rst", ".adoc", ".prompt", ".mmd")
CHURN_DIRS = ("docs", "doc", "prompts")
CHURN_NAMES = ("readme", "changelog", "changes", "system_diagram")


def churn_only(files: list[str]) -> bool:
    """True when every file is documentation, a diagram or a prompt."""
    def is_churn(path: str) -> bool:
        pure = PurePosixPath(path)
        return (pure.suffix.lower() in CHURN_SUFFIXES or pure.name.lower().startswith(CHURN_NAMES)
                or (bool(pure.parts) and pure.parts[0].lower() in CHURN_DIRS))
    return bool(files) and all(is_churn(f) for f in files)
