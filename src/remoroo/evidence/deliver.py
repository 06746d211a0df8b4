"""Deliver: the only way a run's changes reach the user's tree (``remoroo apply``).

A run delivers what it verified: ``instrumentation.diff`` (the metric
reporting the brain had to add, when it had to) and then ``final_patch.diff``
(the fix), applied one after the other to the repository as it was when the
run started. ``--without-instrumentation`` leaves the first out when the fix
applies without it. Nothing is written unless every part applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from remoroo.errors import UserError
from remoroo.evidence.ledger import find_run
from remoroo.exec.git import git_ok


@dataclass(frozen=True)
class Delivered:
    run_dir: Path
    parts: list[str] = field(default_factory=list)  # the diffs applied, in order
    files: list[str] = field(default_factory=list)


def apply_run(repo: Path, run_id: str, instrumentation: bool = True, run_dir: Path | None = None) -> Delivered:
    """Apply a run's verified change to ``repo``: its instrumentation (unless left out) and its fix."""
    run_dir = run_dir or find_run(repo, run_id)
    if run_dir is None:
        raise UserError(f"No run {run_id!r} in {repo}/.remoroo/runs: see 'remoroo runs' for the runs there are.")
    fix = run_dir / "final_patch.diff"
    if not fix.is_file():
        raise UserError(f"Run {run_dir.name} has no final_patch.diff (it did not finish): nothing to apply; if it "
                        f"was interrupted, carry it on with 'remoroo resume {run_dir.name}'.")
    parts = [p for p in ([run_dir / "instrumentation.diff"] if instrumentation else []) + [fix]
             if p.is_file() and p.read_text(encoding="utf-8").strip()]
    if not parts:
        return Delivered(run_dir)
    combined = "".join(p.read_text(encoding="utf-8") for p in parts)
    for part in parts:  # each part is checked on top of the ones before it, in a scratch index: nothing written
        ok, message = _check(repo, parts[: parts.index(part) + 1])
        if not ok:
            hint = (" It was made on top of instrumentation.diff: apply without --without-instrumentation."
                    if not instrumentation and (run_dir / "instrumentation.diff").is_file() else
                    " Commit or stash your local edits to those files, then retry.")
            raise UserError(f"{part.name} of run {run_dir.name} does not apply to {repo} as it is now (nothing was "
                            f"changed): {message}.{hint}")
    for part in parts:
        ok, message = git_ok(repo, "apply", "--whitespace=nowarn", "-", input_text=part.read_text(encoding="utf-8"),
                             standalone=True)
        if not ok:
            raise UserError(f"git apply of {part.name} failed: {message}")
    ok, stat = git_ok(repo, "apply", "--numstat", "-", input_text=combined, standalone=True)
    files = sorted({line.split("\t")[-1] for line in stat.splitlines() if "\t" in line}) if ok else []
    return Delivered(run_dir, [p.name for p in parts], files)


def _check(repo: Path, parts: list[Path]) -> tuple[bool, str]:
    """Whether these diffs, one after the other, apply to the files of ``repo`` as they are."""
    if len(parts) == 1:
        return git_ok(repo, "apply", "--check", "--whitespace=nowarn", "-",
                      input_text=parts[0].read_text(encoding="utf-8"), standalone=True)
    # later parts patch what earlier parts wrote: check them on a scratch copy of the files they touch
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="remoroo-apply-") as scratch:
        root = Path(scratch)
        for part in parts:
            ok, stat = git_ok(repo, "apply", "--numstat", "-", input_text=part.read_text(encoding="utf-8"),
                              standalone=True)
            for line in stat.splitlines() if ok else []:
                rel = line.split("\t")[-1]
                if (repo / rel).is_file() and not (root / rel).exists():
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(repo / rel, root / rel)
        for part in parts:
            ok, message = git_ok(root, "apply", "--whitespace=nowarn", "-", input_text=part.read_text(encoding="utf-8"),
                                 standalone=True)
            if not ok:
                return False, message
    return True, ""
