"""The shadow repository's git plumbing, against real git: HEAD read from files, one-call diffs and reads."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import write_files

from remoroo.exec.git import git, head
from remoroo.exec.workspace import Workspace


def rev_parse(tree: Path) -> str:
    return subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def shadow(tmp_path: Path) -> Workspace:
    repo = write_files(tmp_path / "repo", {"a.py": "A = 1\n", "tests/test_a.py": "def test_a():\n    assert 1\n",
                                           "x y.txt": "space\n"})
    return Workspace.snapshot(repo, tmp_path / "shadow")


def test_head_is_read_from_files_in_every_layout_git_uses(tmp_path: Path) -> None:
    ws = shadow(tmp_path)
    assert head(ws.root) == rev_parse(ws.root)  # a branch, loose ref
    git(ws.root, "pack-refs", "--all")
    assert not (ws.root / ".git" / "refs" / "heads" / "main").exists()
    assert head(ws.root) == rev_parse(ws.root)  # a packed ref
    tree = ws.candidate_checkout(tmp_path / "wt", ws.base)  # a linked worktree, detached
    (tree / "a.py").write_text("A = 2\n")
    commit = ws.commit_in(tree, "in the worktree")
    assert commit == rev_parse(tree) != ws.base
    assert head(ws.root / "tests") == rev_parse(ws.root)  # not a top level: git answers
    ws.remove_checkout(tree)


def test_one_call_gives_the_changed_files_with_both_sides_of_a_rename_and_the_diff(tmp_path: Path) -> None:
    ws = shadow(tmp_path)
    git(ws.root, "mv", "tests/test_a.py", "helper.py")
    (ws.root / "a.py").write_text("A = 2\n")
    (ws.root / "x y.txt").unlink()
    (ws.root / "ñew.txt").write_text("new\n")
    commit = ws.commit("change")
    files, diff = ws.change(ws.base, commit)
    assert sorted(files) == sorted(["a.py", "helper.py", "tests/test_a.py", "x y.txt", "ñew.txt"])
    assert diff == ws.diff(ws.base, commit) and diff.startswith("diff --git")
    assert ws.change(commit, commit) == ([], "")
    before, after = ws.read_sides(ws.base, commit, ["a.py", "tests/test_a.py", "helper.py"])
    assert before == {"a.py": "A = 1\n", "tests/test_a.py": "def test_a():\n    assert 1\n", "helper.py": None}
    assert after["a.py"] == "A = 2\n" and after["tests/test_a.py"] is None


def worktrees(ws: Workspace) -> list[str]:
    out = git(ws.root, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def test_a_worktree_done_with_is_reset_for_the_next_candidate_with_nothing_of_its_run_left(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", {"a.py": "A = 1\n", ".gitignore": "data/\nout/\n",
                                           "data/train.csv": "x\n1\n"})
    ws = Workspace.snapshot(repo, tmp_path / "shadow")
    first = ws.candidate_checkout(tmp_path / "c" / "1" / "1", ws.base)
    assert (first / "data" / "train.csv").read_text() == "x\n1\n"  # the snapshot's ignored data is there
    (first / "a.py").write_text("A = 2\n")
    changed = ws.commit_in(first, "candidate 1")
    (first / "out").mkdir()
    (first / "out" / "cache.bin").write_text("left by the run\n")  # ignored output of a run
    (first / "stray.txt").write_text("untracked\n")
    (first / "data" / "train.csv").write_text("x\n999\n")  # a run that rewrote the data
    ws.remove_checkout(first)
    count = len(worktrees(ws))
    second = ws.candidate_checkout(tmp_path / "c" / "2" / "1", ws.base)
    assert not first.exists() and second.is_dir()  # moved, not copied
    assert len(worktrees(ws)) == count and str(second) in worktrees(ws)
    assert (second / "a.py").read_text() == "A = 1\n" and head(second) == ws.base
    assert not (second / "out" / "cache.bin").exists() and not (second / "stray.txt").exists()
    assert (second / "data" / "train.csv").read_text() == "x\n1\n"
    (second / "data" / "train.csv").unlink()  # removed by a run: restored too
    ws.remove_checkout(second)
    third = ws.candidate_checkout(tmp_path / "c" / "3" / "1", changed)
    assert (third / "a.py").read_text() == "A = 2\n" and (third / "data" / "train.csv").read_text() == "x\n1\n"
    ws.remove_checkout(third)
    fresh = ws.fresh_checkout(tmp_path / "verify")  # final verification never reuses a worktree
    assert third.exists() and (fresh / "a.py").read_text() == "A = 1\n"
    ws.remove_checkout(fresh)
    again = ws.fresh_checkout(tmp_path / "verify")  # where a worktree waits for reuse: a fresh one in its place
    assert (again / "a.py").read_text() == "A = 1\n"
    ws.remove_checkout(again)
    ws.release_checkouts()
    assert worktrees(ws) == [str(ws.root)] and not third.exists() and not fresh.exists()


def test_a_worktree_whose_run_rewrote_its_git_link_is_never_reused(tmp_path: Path) -> None:
    ws = shadow(tmp_path)
    tree = ws.candidate_checkout(tmp_path / "c" / "1", ws.base)
    elsewhere = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(elsewhere)], check=True)
    (tree / ".git").write_text(f"gitdir: {elsewhere / '.git'}\n")  # a run pointing its tree at another repository
    ws.remove_checkout(tree)
    again = ws.candidate_checkout(tmp_path / "c" / "2", ws.base)
    assert head(again) == ws.base and (again / "a.py").read_text() == "A = 1\n"
    assert str(again) in worktrees(ws) and not tree.exists()
    ws.remove_checkout(again)
    ws.release_checkouts()


def test_worktrees_warmed_in_the_background_serve_the_next_checkouts(tmp_path: Path) -> None:
    ws = shadow(tmp_path)
    (ws.root / "a.py").write_text("A = 5\n")
    kept = ws.commit("kept")
    ws.warm(2, kept, tmp_path / "spares")
    ws.warm(2, kept, tmp_path / "spares")  # already warming (or warm): nothing more is added
    first = ws.candidate_checkout(tmp_path / "c" / "1", ws.base)  # waits for them; takes one, reset to its commit
    spare = [t for t in worktrees(ws) if t not in (str(ws.root), str(first))]
    assert len(spare) == 1 and Path(spare[0]).parent == tmp_path / "spares"  # the other one waits
    second = ws.candidate_checkout(tmp_path / "c" / "2", kept)
    assert head(first) == ws.base and (first / "a.py").read_text() == "A = 1\n"
    assert head(second) == kept and (second / "a.py").read_text() == "A = 5\n"
    assert sorted(worktrees(ws)) == sorted([str(ws.root), str(first), str(second)])  # moved there, none added
    assert not any((tmp_path / "spares").iterdir())
    ws.remove_checkout(first)
    ws.remove_checkout(second)
    ws.release_checkouts()
    assert worktrees(ws) == [str(ws.root)]
