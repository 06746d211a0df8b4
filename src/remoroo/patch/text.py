"""Tolerant parsing of a model's raw patch text into edits and diffs.

Accepted: SEARCH/REPLACE blocks (``<<<<<<< SEARCH`` / ``=======`` /
``>>>>>>> REPLACE``, any number of marker characters from 5 to 9) with the
file path on the line before the block (bare, in backticks, after
``File:``/``Path:``, or as the fence's info string), inside or outside code
fences; and unified diffs (``--- a/x`` / ``+++ b/x`` with ``@@`` hunks),
fenced or not.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from remoroo.errors import PatchRejected

if TYPE_CHECKING:
    from remoroo.model.patch import Edit

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w.+\-/]*)\s*$")
_PATH_HINT = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*)?(?:file|path|filename)?\s*:?\s*`?"
    r"([\w./\-]+\.[\w]+|[\w./\-]+/[\w.\-]+)`?(?:\*\*)?:?\s*$",
    re.I,
)
_DIFF_LINE = ("--- ", "+++ ", "@@", "+", "-", " ", "diff --git", "index ", "new file", "deleted file")


def parse_text(text: str) -> tuple[list[Edit], list[str]]:
    """Return the search/replace edits and unified diffs found in ``text``."""
    from remoroo.model.patch import Edit

    lines = text.replace("\r\n", "\n").split("\n")
    edits: list[Edit] = []
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        path = _path_before(lines, i)
        if path is None:
            raise PatchRejected(
                f"The SEARCH block at line {i + 1} has no file path: put the path alone on the line before it."
            )
        search, i = _collect(lines, i + 1, _DIVIDER, "=======", i)
        replace, i = _collect(lines, i + 1, _REPLACE, ">>>>>>> REPLACE", i)
        edits.append(Edit(path=path, search=_join(search), replace=_join(replace)))
        i += 1
    diffs = [] if edits else _diffs(lines)
    return edits, diffs


def _collect(lines: list[str], start: int, end: re.Pattern[str], marker: str, opened: int) -> tuple[list[str], int]:
    for j in range(start, len(lines)):
        if end.match(lines[j]):
            return lines[start:j], j
        if _SEARCH.match(lines[j]):
            break
    raise PatchRejected(f"The block opened at line {opened + 1} is missing its {marker!r} line.")


def _join(block: list[str]) -> str:
    return "\n".join(block) + "\n" if block else ""


def _path_before(lines: list[str], index: int) -> str | None:
    for j in range(index - 1, max(-1, index - 4), -1):
        line = lines[j].strip()
        if not line:
            continue
        fence = _FENCE.match(line)
        if fence:
            info = fence.group(2)
            if "." in info or "/" in info:
                return info
            continue
        hint = _PATH_HINT.match(line)
        if hint:
            return hint.group(1)
        return None
    return None


def _diffs(lines: list[str]) -> list[str]:
    """Unified diffs in the text, with fences and prose stripped."""
    body: list[str] = []
    in_diff = False
    for line in lines:
        if line.startswith("--- ") or line.startswith("diff --git "):
            in_diff = True
        if in_diff and _FENCE.match(line):
            in_diff = False
            continue
        if in_diff:
            if line.startswith(_DIFF_LINE) or line == "":
                body.append(line)
            else:
                in_diff = False
    text = "\n".join(body).strip("\n")
    return [text + "\n"] if "+++ " in text and "@@" in text else []
