"""Hydration: when a brain asks for whole files, answer in the next call, at most ``max_hydrations`` rounds.

Requested files are read from the isolated workspace (inside the repository
only, text only, capped in size). A file that does not exist is reported
back. A brain still asking after the last round gets the run ended with
"needed X, could not obtain".

Files once asked for stay *pinned*: every later request (plan, instrument,
patch, on later turns too) carries them again, read afresh from the kept
state, the most recently asked ``MAX_PINNED`` of them. A pinned file that no
longer exists is dropped without a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, TypeVar

from remoroo.errors import PatchRejected
from remoroo.evidence.events import BrainAsked, Hydrated, HydrationExhausted
from remoroo.loop.state import RunContext
from remoroo.patch.apply import check_path
from remoroo.protocol.wire import FileView, Hydration, InstrumentResponse, PatchResponse, PlanResponse

MAX_FILE_CHARS = 200_000
MAX_PINNED = 8
Req = TypeVar("Req")
Resp = TypeVar("Resp", PlanResponse, PatchResponse, InstrumentResponse)


def read_files(root: Path, items: list[Hydration]) -> tuple[list[FileView], list[str]]:
    files: list[FileView] = []
    problems: list[str] = []
    for item in items:
        try:
            full = check_path(root, item.path)
        except PatchRejected as exc:
            problems.append(f"{item.path}: {exc}")
            continue
        if not full.is_file():
            problems.append(f"{item.path} does not exist in the repository")
            continue
        data = full.read_bytes()[:MAX_FILE_CHARS]
        if b"\0" in data:
            problems.append(f"{item.path} is a binary file")
            continue
        files.append(FileView(path=item.path, size=full.stat().st_size, content=data.decode("utf-8", "replace")))
    return files, problems


def pin(pinned: Iterable[str], more: Iterable[str]) -> tuple[str, ...]:
    """``pinned`` with ``more`` asked for last: the most recent ``MAX_PINNED`` paths, each once, oldest first."""
    order: list[str] = []
    for path in [*pinned, *more]:
        if path in order:
            order.remove(path)
        order.append(path)
    return tuple(order[-MAX_PINNED:])


def ask(ctx: RunContext, build: Callable[[list[FileView], list[str]], Req], call: Callable[[Req], Resp],
        what: str, pinned: Iterable[str] = ()) -> tuple[Resp, tuple[str, ...]]:
    """Call the brain with the pinned files; while it asks for more (and rounds remain), send them and call again.

    Returns the answer and the pinned paths after it (those asked for added).
    """
    kept = tuple(pinned)
    hydrated, _ = read_files(ctx.work_root, [Hydration(path=p) for p in kept])
    kept = tuple(f.path for f in hydrated)
    notes: list[str] = []
    limit = ctx.config.max_hydrations
    for round_ in range(limit + 1):
        ctx.folder.append(BrainAsked(what=what, tokens_used=ctx.brain.usage.tokens))
        response = call(build(hydrated, notes))
        wanted: list[Hydration] = list(response.hydrate)
        if not wanted:
            return response, kept
        names = ", ".join(h.path for h in wanted)
        if round_ == limit:
            ctx.folder.append(HydrationExhausted(what=what, paths=[h.path for h in wanted]))
            return type(response)(give_up=f"needed {names}, could not obtain (hydration limit of {limit} rounds)"), kept
        files, notes = read_files(ctx.work_root, wanted)
        ctx.folder.append(Hydrated(what=what, round=round_ + 1, paths=[h.path for h in wanted], problems=notes))
        known = {f.path for f in hydrated}
        fresh = [f for f in files if f.path not in known]
        notes = notes + [f"{f.path} is already in 'hydrated', in full" for f in files if f.path in known]
        hydrated += fresh
        kept = pin(kept, (f.path for f in fresh))
    raise AssertionError("unreachable")
