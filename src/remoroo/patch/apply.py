"""Patches: parsed tolerantly, applied strictly.

A proposal carries search/replace edits, a unified diff, or raw model text
holding either. Matching tries, in order: exact lines; lines equal up to
trailing spaces (a whitespace-only line may be written empty); a uniform
indentation shift, measured from the block's least indented line; then the
search block with its leading and trailing blank lines trimmed. A block with
``...`` lines (an elision, the same places in search and replace) is applied
piece by piece. A match must be unique; there is no edit-distance fuzz. Every edit
is dry-run in memory before any file is written, so a patch applies whole or
not at all. Failure messages are written for the model.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path, PurePosixPath

from remoroo.errors import PatchRejected
from remoroo.exec.git import git_ok
from remoroo.model.patch import Edit, PatchProposal
from remoroo.patch.text import parse_text


def apply_proposal(root: Path, proposal: PatchProposal) -> list[str]:
    """Apply a proposal to the tree at ``root``; return the files it touched."""
    edits = list(proposal.edits)
    diffs = [proposal.diff] if proposal.diff else []
    if proposal.text:
        parsed_edits, parsed_diffs = parse_text(proposal.text)
        edits += parsed_edits
        diffs += parsed_diffs
    if not edits and not diffs:
        raise PatchRejected("The patch is empty: give at least one search/replace edit or a unified diff.")
    touched: list[str] = []
    if edits:
        touched += apply_edits(root, edits)
    for diff in diffs:
        touched += apply_diff(root, diff)
    return sorted(set(touched))


def check_path(root: Path, path: str) -> Path:
    """The absolute path of ``path`` inside ``root``, or PatchRejected."""
    if not path.strip() or any(ord(ch) < 32 or ch == "\x7f" for ch in path) or len(path) > 4096:
        raise PatchRejected(f"Path {path!r} is not a file name: it is empty, too long, or holds control characters "
                            "(a NUL byte, a newline); name the file as it appears in the repository.")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise PatchRejected(f"Path {path!r} is not valid UTF-8: name the file as it is in the repository.") from None
    pure = PurePosixPath(path.strip())
    if any(len(part.encode()) > 255 for part in pure.parts):
        raise PatchRejected(f"Path {path!r} has a part longer than 255 bytes, which no file system allows.")
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in path:
        raise PatchRejected(f"Path {path!r} is outside the repository: use a path relative to its root.")
    if pure.parts[0] in (".git", ".remoroo"):
        raise PatchRejected(f"Path {path!r} is inside {pure.parts[0]}/, which patches may not touch.")
    full = root / pure
    real_root = os.path.realpath(root)
    real = os.path.realpath(full)
    if os.path.commonpath([real_root, real]) != real_root:
        raise PatchRejected(f"Path {path!r} leads outside the repository through a symlink.")
    return full


def apply_edits(root: Path, edits: list[Edit]) -> list[str]:
    """Dry-run every edit in memory, then write all files, or raise PatchRejected."""
    contents: dict[str, str | None] = {}
    applied: list[int] = []
    failures: list[str] = []
    for index, edit in enumerate(edits, start=1):
        full = check_path(root, edit.path)
        key = str(PurePosixPath(edit.path.strip()))
        if key not in contents:
            contents[key] = _read(full, edit.path)
        try:
            contents[key] = _apply_one(contents[key], edit, index)
            applied.append(index)
        except PatchRejected as exc:
            failures.append(str(exc))
    if failures:
        done = f" Blocks {applied} would have applied; nothing was written." if applied else " Nothing was written."
        raise PatchRejected("\n\n".join(failures) + "\n\n" + done.strip())
    for key in contents:
        _writable(root, key)
    for key, text in contents.items():
        target = root / key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((text or "").encode("utf-8"))
        except OSError as exc:
            raise PatchRejected(f"{key} could not be written ({exc.strerror or exc}).") from exc
    return sorted(contents)


def _writable(root: Path, key: str) -> None:
    """Refuse, before anything is written, a path no file can have: a folder, or a file below a file."""
    target = root / key
    if target.is_dir() and not target.is_symlink():
        raise PatchRejected(f"{key} is a folder, not a file: name a file inside it. Nothing was written.")
    for parent in PurePosixPath(key).parents:
        if str(parent) != "." and (root / parent).exists() and not (root / parent).is_dir():
            raise PatchRejected(f"{key} lies below {parent}, which is a file, not a folder. Nothing was written.")


def _read(full: Path, path: str) -> str | None:
    if full.is_dir():
        raise PatchRejected(f"{path} is a folder, not a file: name a file inside it.")
    if not full.is_file():
        return None
    try:
        return full.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PatchRejected(f"{path} is not UTF-8 text, so search/replace edits cannot change it.") from exc
    except OSError as exc:
        raise PatchRejected(f"{path} cannot be read ({exc.strerror or exc}).") from exc


def _apply_one(current: str | None, edit: Edit, index: int) -> str:
    where = f"Block {index} ({edit.path})"
    if not edit.search.strip():
        if current is not None and current.strip():
            raise PatchRejected(f"{where}: the search part is empty, which creates a file, but {edit.path} exists.")
        return edit.replace
    if current is None:
        raise PatchRejected(f"{where}: {edit.path} does not exist. To create it, leave the search part empty.")
    newline = "\r\n" if "\r\n" in current else "\n"
    text = current.replace("\r\n", "\n")
    fragment = edit.search.replace("\r\n", "\n")
    if "\n" not in fragment and text.count(fragment) == 1:  # a fragment of one line, found exactly once
        return text.replace(fragment, edit.replace.replace("\r\n", "\n")).replace("\n", newline)
    lines = text.split("\n")
    search = _lines(edit.search)
    replace = _lines(edit.replace)
    for attempt in (_exact, _loose, _indented, _trimmed):
        found = attempt(lines, search, replace)
        if found is None:
            continue
        starts, new_replace, span = found
        if len(starts) > 1:
            at = ", ".join(str(s + 1) for s in starts[:5])
            raise PatchRejected(
                f"{where}: the search text matches {len(starts)} places (lines {at}); "
                "include more surrounding lines so it matches exactly one."
            )
        start = starts[0]
        merged = lines[:start] + new_replace + lines[start + span:]
        return newline.join(merged)
    if "\n" not in fragment and fragment.strip() and text.count(fragment) > 1:
        hits = sorted({i + 1 for i, line in enumerate(lines) if fragment in line})
        raise PatchRejected(
            f"{where}: the search text matches {text.count(fragment)} places (lines "
            f"{', '.join(map(str, hits[:5]))}); include more of the surrounding code so it matches exactly one."
        )
    if any(_ELISION.match(line) for line in search):
        return _elided(current, edit, index)
    raise PatchRejected(_explain_miss(where, lines, search, replace))


_ELISION = re.compile(r"^\s*(?:\.\.\.|…|(?:#|//|--)\s*(?:\.\.\.|…).*|/\*\s*\.\.\.\s*\*/)\s*$")


def _elided(current: str, edit: Edit, index: int) -> str:
    """A block with ``...`` lines: each piece between them is its own unique edit, in order."""
    where = f"Block {index} ({edit.path})"

    def pieces(text: str) -> list[str]:
        out: list[list[str]] = [[]]
        for line in _lines(text):
            if _ELISION.match(line):
                out.append([])
            else:
                out[-1].append(line)
        return ["\n".join(p) + "\n" if p else "" for p in out]

    search, replace = pieces(edit.search), pieces(edit.replace)
    if len(search) != len(replace):
        raise PatchRejected(f"{where}: the search text skips lines with '...' {len(search) - 1} time(s) and the "
                            f"replacement {len(replace) - 1} time(s): put '...' at the same places in both, or "
                            "copy the skipped lines.")
    text = current
    for part, (s_piece, r_piece) in enumerate(zip(search, replace, strict=True), start=1):
        if not s_piece.strip():
            if r_piece.strip():
                raise PatchRejected(f"{where}: piece {part} between '...' lines adds code with nothing to "
                                    "anchor it: include the lines it goes after.")
            continue
        text = _apply_one(text, Edit(path=edit.path, search=s_piece, replace=r_piece), index)
    return text


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n")
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


Found = tuple[list[int], list[str], int]


def _exact(lines: list[str], search: list[str], replace: list[str]) -> Found | None:
    starts = [i for i in range(len(lines) - len(search) + 1) if lines[i:i + len(search)] == search]
    return (starts, replace, len(search)) if starts else None


def _loose(lines: list[str], search: list[str], replace: list[str]) -> Found | None:
    """Lines equal up to trailing whitespace: a whitespace-only line matches an empty one."""
    wanted = [s.rstrip() for s in search]
    n = len(wanted)
    starts = [i for i in range(len(lines) - n + 1) if all(lines[i + k].rstrip() == wanted[k] for k in range(n))]
    return (starts, [r.rstrip() for r in replace], n) if starts else None


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _indented(lines: list[str], search: list[str], replace: list[str]) -> Found | None:
    """The block shifted by one indentation throughout, measured from its least indented line."""
    body = [s for s in search if s.strip()]
    if not body:
        return None
    s_ind = min((_lead(s) for s in body), key=len)
    if any(not s.startswith(s_ind) for s in body):
        return None  # tabs and spaces mixed: no uniform shift
    rel = [s[len(s_ind):].rstrip() if s.strip() else "" for s in search]
    anchor = next(k for k, s in enumerate(search) if s.strip() and _lead(s) == s_ind)
    matches: list[tuple[int, str]] = []
    for i in range(len(lines) - len(search) + 1):
        f_ind = _lead(lines[i + anchor])
        if f_ind == s_ind:
            continue
        if all((not r and not f.strip()) or (r and f.rstrip() == f_ind + r)
               for r, f in zip(rel, lines[i:i + len(search)], strict=True)):
            matches.append((i, f_ind))
    if not matches:
        return None
    f_ind = matches[0][1]
    shifted = [(f_ind + r[len(s_ind):] if r.startswith(s_ind) else f_ind + r.lstrip()).rstrip() if r.strip() else ""
               for r in replace]
    return [m[0] for m in matches], shifted, len(search)


def _trimmed(lines: list[str], search: list[str], replace: list[str]) -> Found | None:
    def trim(block: list[str]) -> list[str]:
        start, end = 0, len(block)
        while start < end and not block[start].strip():
            start += 1
        while end > start and not block[end - 1].strip():
            end -= 1
        return block[start:end]

    t_search, t_replace = trim(search), trim(replace)
    if t_search == search or not t_search:
        return None
    return _exact(lines, t_search, t_replace) or _loose(lines, t_search, t_replace) or \
        _indented(lines, t_search, t_replace)


def _explain_miss(where: str, lines: list[str], search: list[str], replace: list[str]) -> str:
    message = [f"{where}: the search text does not match the file."]
    if replace and _exact(lines, replace, replace) is not None:
        message.append("Its replacement is already present: this edit may already be applied.")
    anchor = next((s for s in search if s.strip()), "")
    stripped = [line.strip() for line in lines]
    close = difflib.get_close_matches(anchor.strip(), stripped, n=1, cutoff=0.5)
    if close:
        at = stripped.index(close[0])
        lo, hi = max(0, at - 2), min(len(lines), at + len(search) + 2)
        snippet = "\n".join(f"{n + 1:>5}| {lines[n]}" for n in range(lo, hi))
        message.append(f"The nearest real lines are:\n{snippet}")
    message.append("Copy the search lines exactly from the file, including indentation.")
    return "\n".join(message)


def apply_diff(root: Path, diff: str) -> list[str]:
    """Apply a unified diff with ``git apply`` (atomic: all of it or nothing); return the touched files."""
    paths = diff_paths(diff)
    if not paths:
        raise PatchRejected("The unified diff names no file: each file needs '--- a/PATH' and '+++ b/PATH' lines.")
    for path in paths:
        check_path(root, path)
    if not diff.endswith("\n"):
        diff += "\n"
    # git apply is all or nothing: a hunk that does not apply leaves every file as it was
    ok, message = git_ok(root, "apply", "--recount", "--whitespace=nowarn", "-", input_text=diff)
    if not ok:
        raise PatchRejected(f"The unified diff does not apply (nothing was written): {message}")
    return paths


def diff_paths(diff: str) -> list[str]:
    paths: list[str] = []
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ")):
            name = line[4:].split("\t")[0].strip()
            if name == "/dev/null":
                continue
            if name[:2] in ("a/", "b/"):
                name = name[2:]
            if name not in paths:
                paths.append(name)
    return paths
