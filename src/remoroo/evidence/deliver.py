"""Deliver: the only way a run's changes reach the user's tree (``remoroo apply``)."""

from __future__ import annotations

from pathlib import Path

from remoroo.errors import UserError
from remoroo.evidence.ledger import find_run
from remoroo.exec.git import git_ok


def apply_run(repo: Path, run_id: str) -> tuple[Path, list[str]]:
    """Apply a run's final_patch.diff to ``repo``; return the diff path and the files it changes."""
    run_dir = find_run(repo, run_id)
    if run_dir is None:
        raise UserError(f"No run {run_id!r} in {repo}/.remoroo/runs: see 'remoroo show latest' for the newest one.")
    diff_path = run_dir / "final_patch.diff"
    if not diff_path.is_file():
        raise UserError(f"Run {run_dir.name} has no final_patch.diff (it did not finish): nothing to apply.")
    diff = diff_path.read_text(encoding="utf-8")
    if not diff.strip():
        return diff_path, []
    ok, message = git_ok(repo, "apply", "--check", "--whitespace=nowarn", "-", input_text=diff, standalone=True)
    if not ok:
        raise UserError(
            f"final_patch.diff of run {run_dir.name} does not apply to {repo} as it is now "
            f"(nothing was changed): {message}. Commit or stash your local edits to those files, then retry."
        )
    ok, message = git_ok(repo, "apply", "--whitespace=nowarn", "-", input_text=diff, standalone=True)
    if not ok:
        raise UserError(f"git apply failed: {message}")
    ok, stat = git_ok(repo, "apply", "--numstat", "-", input_text=diff, standalone=True)
    files = [line.split("\t")[-1] for line in stat.splitlines() if "\t" in line] if ok else []
    return diff_path, files
