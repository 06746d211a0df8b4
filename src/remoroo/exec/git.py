"""The git adapter: every git call goes through :func:`git`, errors become GitError."""

from __future__ import annotations

import subprocess
from pathlib import Path

from remoroo.errors import GitError

_ISOLATION = [
    "-c", "core.hooksPath=/dev/null",
    "-c", "commit.gpgsign=false",
    "-c", "user.name=remoroo",
    "-c", "user.email=remoroo@localhost",
    "-c", "core.autocrlf=false",
    "-c", "advice.detachedHead=false",
    "-c", "init.defaultBranch=main",
]
_ENV = {
    # remoroo commits only in its own shadow repositories; a fixed date makes a commit's id a function of its
    # content and parent, so a resumed run that replays the same patches recreates the same commits
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def _run(repo: Path, args: tuple[str, ...], input_text: str | None, env: dict[str, str],
         timeout_s: float) -> subprocess.CompletedProcess[str]:
    cmd = ["git", "-C", str(repo), *_ISOLATION, *args]
    try:
        return subprocess.run(cmd, input=input_text, capture_output=True, text=True, env=env, timeout=timeout_s,
                              check=False, errors="replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {' '.join(args)} failed to run: {exc}") from exc


def git(repo: Path, *args: str, input_text: str | None = None, check: bool = True,
        timeout_s: float = 300.0) -> str:
    """Run ``git -C repo ARGS`` and return stdout; raise GitError on failure."""
    done = _run(repo, args, input_text, _ENV, timeout_s)
    if check and done.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def git_ok(repo: Path, *args: str, input_text: str | None = None,
           standalone: bool = False, keep_output: bool = False) -> tuple[bool, str]:
    """Run git without raising on its exit code; return (succeeded, stdout if kept, else stderr or stdout).

    ``standalone`` stops git from finding a repository above ``repo``, so a
    folder inside someone else's checkout is treated as a plain folder.
    """
    env = dict(_ENV)
    if standalone:
        env["GIT_CEILING_DIRECTORIES"] = str(Path(repo).resolve().parent)
    try:
        done = _run(repo, args, input_text, env, 300.0)
    except GitError as exc:
        return False, str(exc)
    if keep_output and done.returncode == 0:
        return True, done.stdout
    return done.returncode == 0, (done.stderr or done.stdout).strip()


def head(tree: Path) -> str:
    """The commit ``tree``'s HEAD points at, read from its git files without a process (a loose or packed ref,
    or a detached HEAD, in a repository or a linked worktree); ``rev-parse`` wherever the layout is unusual."""
    try:
        found = _head_from_files(tree)
    except (OSError, UnicodeDecodeError):
        found = None
    return found or git(tree, "rev-parse", "HEAD").strip()


def _head_from_files(tree: Path) -> str | None:
    dot = tree / ".git"
    if dot.is_dir():
        gitdir = dot
    elif dot.is_file():
        text = dot.read_text(encoding="utf-8").strip()
        if not text.startswith("gitdir: "):
            return None
        gitdir = Path(text[len("gitdir: "):])
        gitdir = gitdir if gitdir.is_absolute() else tree / gitdir
    else:
        return None
    common = gitdir
    if (gitdir / "commondir").is_file():
        common = gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()
    value = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
    if not value.startswith("ref: "):
        return value if _is_sha(value) else None
    ref = value[len("ref: "):]
    for base in (gitdir, common):
        loose = base / ref
        if loose.is_file():
            text = loose.read_text(encoding="utf-8").strip()
            return text if _is_sha(text) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _is_sha(sha):
                return sha
    return None


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def toplevel(path: Path) -> Path | None:
    ok, out = git_ok(path, "rev-parse", "--show-toplevel")
    return Path(out) if ok and out else None


def cat_files(repo: Path, specs: list[str], timeout_s: float = 60.0) -> list[bytes | None]:
    """The contents of many ``COMMIT:PATH`` objects in one ``git cat-file --batch`` call (None: missing)."""
    if not specs:
        return []
    cmd = ["git", "-C", str(repo), *_ISOLATION, "cat-file", "--batch"]
    try:
        done = subprocess.run(cmd, input="".join(s + "\n" for s in specs).encode(), capture_output=True, env=_ENV,
                              timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git cat-file --batch failed to run: {exc}") from exc
    if done.returncode != 0:
        raise GitError(f"git cat-file --batch failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    out, at = done.stdout, 0
    found: list[bytes | None] = []
    for _ in specs:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found.append(out[at:at + size])
            at += size + 1
        elif len(header) == 3:  # a tree or another object: no file text
            at += int(header[2]) + 1
            found.append(None)
        else:
            found.append(None)
    return found
