"""Does a patched file still parse? A Python file that parsed before and no longer does is a slip, not a change.

The message is the compiler's, with the line and a caret, written for the
model to fix on its next answer. A file that did not parse before the patch
(Python 2 code, a template) is not held against the patch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable


def syntax_error(root: Path, touched: list[str], before: Callable[[str], str | None]) -> str | None:
    """The first touched Python file under ``root`` that ``before`` parsed and that no longer parses, explained."""
    for path in touched:
        if not path.endswith((".py", ".pyi")):
            continue
        full = root / path
        if not full.is_file():
            continue
        problem = _compile_error(full.read_bytes(), path)
        if problem is None:
            continue
        old = before(path)
        if old is not None and _compile_error(old.encode("utf-8", "replace"), path) is not None:
            continue
        return problem
    return None


def _compile_error(source: bytes, path: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not an error
            compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{path}, line {exc.lineno}" if exc.lineno else path
        text = (exc.text or "").rstrip("\n")
        caret = ""
        if text and exc.offset:
            caret = "\n    " + " " * max(0, exc.offset - 1 - (len(text) - len(text.lstrip()))) + "^"
        shown = f"\n    {text.strip()}{caret}" if text.strip() else ""
        return f"{type(exc).__name__}: {exc.msg} ({where}){shown}"
    except ValueError as exc:  # NUL bytes
        return f"{path} cannot be compiled: {exc}"
    return None
