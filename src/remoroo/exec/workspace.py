"""The isolated workspace: a shadow git repository holding a snapshot of the user's repo.

The snapshot is the repository as it stands, uncommitted and untracked files
included (a folder that is not a git repository works too). It lives under
``REPO/.remoroo/work/<run_id>`` with its own ``.git``; the user's files and
the user's ``.git`` are never written. Candidates are commits in the shadow
repository; reverting is a hard reset to the kept commit.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
from pathlib import Path

from remoroo.errors import GitError
from remoroo.exec.git import cat_files, git, git_ok, head

FULL_REF = "refs/remoroo/full"
BASE_REF = "refs/remoroo/base"
PARKED = 8  # candidate worktrees kept for reuse at most (the widest batch a turn runs side by side)
SKIP_DIRS = {".git", ".remoroo", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache",
             ".ruff_cache", ".tox", ".nox", ".hypothesis", ".ipynb_checkpoints"}


def is_skipped_dir(path: Path) -> bool:
    return path.name in SKIP_DIRS or (path / "pyvenv.cfg").is_file()


def copy_tree(src: Path, dst: Path) -> dict[str, str]:
    """Copy ``src`` into ``dst`` without VCS metadata, virtualenvs or caches; return what was left out, and why.

    Regular files and symlinks are carried as they are, however large. What cannot be a file of a repository
    (named pipes, sockets, device files), what cannot be read, and names that are not UTF-8 (no plan, patch or
    report could name them) are skipped with a note, never a crash.
    """
    skipped: dict[str, str] = {}

    def unreadable(error: OSError) -> None:
        skipped[_shown(Path(error.filename or "?"), src)] = f"unreadable folder ({error.strerror or error})"

    for dirpath, dirnames, filenames in os.walk(src, onerror=unreadable):
        here = Path(dirpath)
        target = dst / here.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        keep = []
        for name in sorted(dirnames):
            path = here / name
            if is_skipped_dir(path):
                continue
            if not _utf8(name):
                skipped[_shown(path, src)] = "its name is not UTF-8"
            elif path.is_symlink():  # carried as a link, never followed
                os.symlink(os.readlink(path), target / name)
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            source = here / name
            why = _uncopyable(source, name)
            if why is None:
                why = _copy(source, target / name)
            if why is not None:
                skipped[_shown(source, src)] = why
    return skipped


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(path: Path, root: Path) -> str:
    """A path for notes and reports, printable whatever bytes its name holds."""
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = str(path)
    return os.fsencode(rel).decode("utf-8", "replace")


def _uncopyable(path: Path, name: str) -> str | None:
    if not _utf8(name):
        return "its name is not UTF-8"
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(mode) or stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file, not a file"
    return "not a regular file"


def _copy(source: Path, dest: Path) -> str | None:
    try:
        if source.is_symlink():
            os.symlink(os.readlink(source), dest)
        else:
            shutil.copy2(source, dest)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None


class Workspace:
    """A shadow repository with a baseline commit."""

    def __init__(self, root: Path, base: str, skipped: dict[str, str] | None = None) -> None:
        self.root = root
        self.base = base
        self.skipped = dict(skipped or {})  # what the snapshot left out, and why
        self.ignored = self._ignored_now()  # the snapshot's ignored files (data) and their stat, as taken
        self._seen: dict[Path, dict[str, tuple[int, int] | None]] = {}  # the same, per candidate worktree
        self._parked: list[Path] = []  # worktrees done with, kept to be reset for the next candidate
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None
        self._spares = 0

    @classmethod
    def snapshot(cls, repo: Path, dest: Path, bundle: Path | None = None) -> Workspace:
        """Copy ``repo`` into a new shadow repository at ``dest``; with ``bundle``, also keep the snapshot there
        as a git bundle, from which :meth:`restore` rebuilds the workspace (on resume, on any machine)."""
        dest.mkdir(parents=True, exist_ok=False)
        skipped = copy_tree(repo, dest)
        git(dest, "init", "-q")
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "--allow-empty", "-m", "remoroo snapshot")
        base = git(dest, "rev-parse", "HEAD").strip()
        # Files the repo's .gitignore hides (data, caches) are kept on a side ref,
        # so a fresh checkout for final verification has them too.
        git(dest, "add", "-A", "-f")
        git(dest, "commit", "-q", "--allow-empty", "-m", "remoroo snapshot with ignored files")
        git(dest, "update-ref", FULL_REF, "HEAD")
        git(dest, "reset", "-q", base)
        git(dest, "update-ref", BASE_REF, base)
        if bundle is not None:
            git(dest, "bundle", "create", "-q", str(bundle), BASE_REF, FULL_REF)
        return cls(dest, base, skipped)

    @classmethod
    def restore(cls, bundle: Path, dest: Path) -> Workspace:
        """The workspace of a snapshot kept by :meth:`snapshot` as a bundle, at its base commit."""
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        git(dest, "init", "-q")
        git(dest, "fetch", "-q", str(bundle), f"{BASE_REF}:{BASE_REF}", f"{FULL_REF}:{FULL_REF}")
        base = git(dest, "rev-parse", BASE_REF).strip()
        git(dest, "checkout", "-q", "-B", "main", base)
        ignored = [p for p in git(dest, "diff", "--name-only", "-z", base, FULL_REF).split("\0") if p]
        for start in range(0, len(ignored), 200):  # the snapshot's ignored files (data), as in a checkout
            git(dest, "checkout", FULL_REF, "--", *ignored[start:start + 200])
        if ignored:
            git(dest, "reset", "-q")
        return cls(dest, base)

    def head(self) -> str:
        return head(self.root)

    def commit(self, message: str) -> str:
        return self.commit_in(self.root, message)

    def reset(self, commit: str, tree: Path | None = None) -> None:
        """Return the tree (the main one, or a candidate worktree) to ``commit`` exactly, ignored files included.

        Files a run left behind are removed, even where the repository's .gitignore hides them
        (caches, outputs): a later candidate must not profit from an earlier one's run. The
        snapshot's own ignored files (data) are restored when a run changed or removed them.
        """
        root = tree or self.root
        seen = self.ignored if tree is None else self._seen.setdefault(tree, {})
        git(root, "reset", "-q", "--hard", commit)
        git(root, "clean", "-q", "-fd")
        listed = git(root, "ls-files", "--others", "--ignored", "--exclude-standard", "-z")
        for rel in (p for p in listed.split("\0") if p and p not in self.ignored):
            (root / rel).unlink(missing_ok=True)
        changed = [rel for rel in self.ignored if rel not in seen or _stat(root / rel) != seen[rel]]
        for start in range(0, len(changed), 200):
            chunk = changed[start:start + 200]
            git(root, "checkout", FULL_REF, "--", *chunk)
            git(root, "reset", "-q", "--", *chunk)
            seen.update({rel: _stat(root / rel) for rel in chunk})

    def _ignored_now(self) -> dict[str, tuple[int, int] | None]:
        ok, names = git_ok(self.root, "diff", "--name-only", "-z", self.base, FULL_REF, keep_output=True)
        return {rel: _stat(self.root / rel) for rel in names.split("\0") if rel} if ok else {}

    def diff(self, old: str, new: str, paths: list[str] | None = None) -> str:
        args = ["diff", "--binary", "--no-color", "--no-ext-diff", old, new]
        return git(self.root, *args, *(["--"] + paths if paths else []))

    def read_at(self, commit: str, path: str) -> str | None:
        """The text of ``path`` at ``commit``, or None where it does not exist."""
        ok, text = git_ok(self.root, "cat-file", "-p", f"{commit}:{path}", keep_output=True)
        return text if ok else None

    def read_sides(self, old: str, new: str, paths: list[str]) -> tuple[dict[str, str | None], dict[str, str | None]]:
        """The text of each path at two commits (None where it does not exist), in one git call."""
        blobs = cat_files(self.root, [f"{old}:{p}" for p in paths] + [f"{new}:{p}" for p in paths])
        text = [None if b is None else b.decode("utf-8", "replace") for b in blobs]
        return dict(zip(paths, text[:len(paths)], strict=True)), dict(zip(paths, text[len(paths):], strict=True))

    def changed_files(self, old: str, new: str) -> list[str]:
        return self.change(old, new)[0]

    def change(self, old: str, new: str) -> tuple[list[str], str]:
        """The files that differ between two commits (both paths of a rename) and the diff, in one git call."""
        out = git(self.root, "diff", "--patch-with-raw", "-z", "--binary", "--no-color", "--no-ext-diff", old, new)
        files: list[str] = []
        fields = out.split("\0")
        at = 0
        while at < len(fields) and fields[at].startswith(":"):  # ":meta STATUS", then one path, two for R and C
            status = fields[at].split()[-1]
            count = 2 if status[:1] in ("R", "C") else 1
            files += [p for p in fields[at + 1:at + 1 + count] if p not in files]
            at += 1 + count
        return files, "\0".join(fields[at:]).lstrip("\0")

    def fresh_checkout(self, dest: Path) -> Path:
        """A new git worktree of the original snapshot, ignored files included."""
        return self.candidate_checkout(dest, self.base, reuse=False)

    def candidate_checkout(self, dest: Path, commit: str, reuse: bool = True) -> Path:
        """A git worktree at ``dest`` holding exactly ``commit``, with the snapshot's ignored files (data).

        A worktree an earlier candidate is done with is moved here and reset (:meth:`reset`: what its run
        left is removed, the data restored), which touches only what differs; a full checkout of a large
        repository costs about a second. Only without one is a new worktree added.
        """
        self._warmed()
        with self._lock:
            if dest in self._parked:  # the very one: reused in place, or dropped for a fresh one
                self._parked.remove(dest)
                spare: Path | None = dest
            else:
                spare = self._parked.pop() if self._parked and reuse else None
        if spare is not None and (not reuse or not self._intact(spare)):
            self._drop(spare)
            spare = None
        if spare is not None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if spare != dest and git_ok(self.root, "worktree", "move", str(spare), str(dest))[0]:
                self._seen[dest] = self._seen.pop(spare, {})
            elif spare != dest:  # it could not be moved: a new one instead
                self._drop(spare)
                spare = None
        if spare is not None:
            try:
                self.reset(commit, tree=dest)
                return dest
            except GitError:  # whatever its last run did to it, a new worktree instead
                self._drop(dest)
        return self._add(dest, commit)

    def _add(self, dest: Path, commit: str) -> Path:
        git(self.root, "worktree", "add", "-q", "--detach", str(dest), commit)
        ignored = list(self.ignored)  # the snapshot's ignored files, listed once when the workspace was made
        for start in range(0, len(ignored), 200):
            git(dest, "checkout", FULL_REF, "--", *ignored[start:start + 200])
        if ignored:
            git(dest, "reset", "-q")
        self._seen[dest] = {rel: _stat(dest / rel) for rel in ignored}
        return dest

    def warm(self, count: int, commit: str, under: Path) -> None:
        """Start adding worktrees of ``commit`` in the background until ``count`` are parked.

        Called while the engine waits on a brain: on a large repository a checkout costs about a second
        of file creation, which then overlaps the brain's work instead of following it. A checkout
        asked for meanwhile waits for these (:meth:`_warmed`); a failure leaves it to add its own.
        """
        self._warmed()
        with self._lock:
            missing = min(count, PARKED) - len(self._parked)
            names = [under / f"spare-{self._spares + i}" for i in range(max(0, missing))]
            self._spares += len(names)
        if not names:
            return

        def add() -> None:
            for dest in names:
                try:
                    self._add(dest, commit)
                except (GitError, OSError):
                    self._drop(dest)
                    return
                with self._lock:
                    self._parked.append(dest)

        under.mkdir(parents=True, exist_ok=True)
        self._warming = threading.Thread(target=add, name="remoroo-warm-worktrees", daemon=True)
        self._warming.start()

    def _warmed(self) -> None:
        warming = self._warming
        if warming is not None:
            warming.join()
            self._warming = None

    def commit_in(self, tree: Path, message: str) -> str:
        """Commit everything in ``tree`` (the main worktree or a candidate worktree)."""
        git(tree, "add", "-A")
        git(tree, "commit", "-q", "--allow-empty", "-m", message)
        return head(tree)

    def apply_diff(self, checkout: Path, diff: str) -> tuple[bool, str]:
        """``git apply`` a diff to a checkout; (applied, message)."""
        if not diff.strip():
            return True, "empty diff"
        return git_ok(checkout, "apply", "--whitespace=nowarn", "-", input_text=diff)

    def remove_checkout(self, dest: Path) -> None:
        """Done with a candidate worktree: kept (up to ``PARKED``) for the next candidate, else removed."""
        with self._lock:
            if dest in self._seen and dest not in self._parked and len(self._parked) < PARKED:
                self._parked.append(dest)
                return
        self._drop(dest)

    def _intact(self, tree: Path) -> bool:
        """The worktree still points at this shadow repository (a run could have rewritten its ``.git`` file)."""
        try:
            link = (tree / ".git").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return False
        admin = Path(link.removeprefix("gitdir:").strip())
        return link.startswith("gitdir:") and admin.parent.resolve() == (self.root / ".git" / "worktrees").resolve()

    def release_checkouts(self) -> None:
        """Remove every worktree kept for reuse (the end of a run)."""
        self._warmed()
        with self._lock:
            parked, self._parked = self._parked, []
        for tree in parked:
            self._drop(tree)

    def _drop(self, dest: Path) -> None:
        self._seen.pop(dest, None)
        git_ok(self.root, "worktree", "remove", "--force", str(dest))
        shutil.rmtree(dest, ignore_errors=True)

    def destroy(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def ensure_remoroo_dir(repo: Path) -> Path:
    """Create ``REPO/.remoroo`` with a .gitignore that hides it from the user's git."""
    base = repo / ".remoroo"
    base.mkdir(exist_ok=True)
    ignore = base / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# remoroo's run folders; never part of your repository\n*\n", encoding="utf-8")
    return base
