"""A request as the model reads it: a stable, cacheable prefix, then what changes from call to call.

The prefix holds the instructions, the answer format, the goal, the plan and
the repository: a collapsed directory tree, a ranked symbol map, and files as
fenced blocks with their paths (hydrated files first: the engine sends them
again at every later call). The rest is the request's own JSON without the
repository (history, feedback, log tails, witnesses), with the volatile
fields (request id, budgets left) last, so providers' prefix caches hit.

Everything is measured in tokens at four characters each and packed into a
budget: the tree, the symbol map and the volatile part each have a share;
files get what is left, most relevant first, and a file that does not fit
falls back to its excerpts and outline.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from remoroo.protocol.wire import AnyRequest, FileView, PatchRequest

CHARS_PER_TOKEN = 4
TREE_SHARE = 0.08
SYMBOL_SHARE = 0.15
VOLATILE_SHARE = 0.30
LAST_FIELDS = ("request_id", "tokens_left", "time_left_s")
_LANG = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript", ".tsx": "tsx",
         ".go": "go", ".rs": "rust", ".json": "json", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml",
         ".sh": "bash", ".md": "markdown", ".c": "c", ".h": "c", ".cpp": "cpp", ".java": "java", ".rb": "ruby"}


def prompt(name: str) -> str:
    return resources.files("remoroo.brain.llm").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Rendered:
    stable: str
    volatile: str

    @property
    def tokens(self) -> int:
        return (len(self.stable) + len(self.volatile)) // CHARS_PER_TOKEN


@dataclass
class _Dir:
    dirs: dict[str, _Dir] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def count(self) -> int:
        return len(self.files) + sum(d.count() for d in self.dirs.values())

    def kinds(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for name in self.files:
            ext = posixpath.splitext(name)[1] or "(none)"
            found[ext] = found.get(ext, 0) + 1
        for sub in self.dirs.values():
            for ext, n in sub.kinds().items():
                found[ext] = found.get(ext, 0) + n
        return found


def render(request: AnyRequest, budget_tokens: int, *, answer_format: str, max_candidates: int | None = None,
           notes: list[str] | None = None) -> Rendered:
    """The request as text within ``budget_tokens``; ``notes`` are the brain's own remarks (a cut-off answer)."""
    budget = max(2000, budget_tokens) * CHARS_PER_TOKEN
    head = [prompt(request.kind), "", answer_format.strip(), "", _goal(request)]
    plan = getattr(request, "plan", None)
    if plan is not None:
        head += ["", "## The plan (the engine runs exactly these commands and measures these metrics)",
                 "```json", plan.model_dump_json(exclude_defaults=True), "```"]
    volatile = _volatile(request, int(budget * VOLATILE_SHARE), max_candidates, notes or [])
    fixed = sum(len(p) + 1 for p in head) + len(volatile)
    views = request.context.files
    shown = {f.path for f in request.hydrated} | {f.path for f in views if f.content is not None or f.excerpts}
    tree = _tree([f.path for f in views], shown, int(budget * TREE_SHARE))
    files, left_out = _files(request, max(0, budget - fixed - len(tree) - int(budget * SYMBOL_SHARE)))
    symbols = _symbols(views, left_out, shown, max(0, budget - fixed - len(tree) - len(files)))
    repo = ["", "## The repository", "", "### Files and folders (collapsed where large)", "```", tree, "```"]
    if symbols:
        repo += ["", "### Symbols of files not shown in full (`start-end kind name(signature)`)", symbols]
    protected = _protected(views)
    if protected:
        repo += ["", "### Protected: a change to these is vetoed", protected]
    if files:
        repo += ["", "### Source", files]
    if left_out:
        repo += ["", "Left out for the budget (ask to hydrate them): " + ", ".join(sorted(left_out))]
    return Rendered(stable="\n".join(head + repo) + "\n\n", volatile=volatile)


def _goal(request: AnyRequest) -> str:
    goal = request.goal
    lines = ["## The goal", goal.text.strip(), "", f"Targets: {', '.join(goal.targets) or '(none)'}"]
    if goal.spec.strip():
        lines.append(f"As the user wrote them: {goal.spec.strip()}")
    if goal.semantic:
        lines.append(f"Clauses in words to resolve: {'; '.join(goal.semantic)}")
    for stated in goal.stated:
        lines.append(f"The goal's words state: {stated.phrase!r} -> {stated.spec}")
    return "\n".join(lines)


def _volatile(request: AnyRequest, cap: int, max_candidates: int | None, notes: list[str]) -> str:
    data: dict[str, Any] = request.model_dump(mode="json", exclude={"context", "hydrated", "goal", "plan",
                                                                     "protocol"})
    if max_candidates is not None and isinstance(request, PatchRequest):
        data["max_candidates"] = max_candidates
    last = {k: data.pop(k) for k in LAST_FIELDS if k in data}
    history = list(data.pop("history", []))
    dropped = 0
    body = {**data, "history": history, **last}
    while history and len(json.dumps(body, indent=1)) > cap:
        history.pop(0)  # the oldest entries go first; the baseline stays while anything else can go
        dropped += 1
        body = {**data, "history": history, **last}
    if dropped:
        body = {**data, "history_omitted": f"{dropped} earlier entries", "history": history, **last}
    text = json.dumps(body, indent=1)
    if len(text) > cap:
        for key in ("log_tails", "observations"):
            if isinstance(data.get(key), dict):
                data[key] = {k: v[-max(200, cap // 8):] for k, v in data[key].items()}
        text = json.dumps({**data, "history": history, **last}, indent=1)
    lines = ["## This call", "```json", text, "```"]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _tree(paths: list[str], shown: set[str], cap: int) -> str:
    """Folders as a tree; a folder that does not fit is one line (`name/ (N files: 30 .py, 2 .json)`)."""
    root = _Dir()
    for path in sorted(paths):
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            node = node.dirs.setdefault(part, _Dir())
        node.files.append(parts[-1])
    hot = {posixpath.dirname(p) for p in shown}
    every: list[str] = []

    def walk(node: _Dir, prefix: str) -> None:
        for name, sub in sorted(node.dirs.items()):
            every.append(prefix + name)
            walk(sub, prefix + name + "/")

    walk(root, "")
    wanted = {d for d in every if any(h == d or h.startswith(d + "/") for h in hot)}
    order = sorted(every, key=lambda d: (d not in wanted, d.count("/"), d))
    expanded = {""}
    text = _draw(root, expanded, shown)
    for folder in order:
        parent = posixpath.dirname(folder)
        if parent not in expanded:
            continue
        trial = _draw(root, expanded | {folder}, shown)
        if len(trial) <= cap:
            expanded.add(folder)
            text = trial
    return text


def _draw(root: _Dir, expanded: set[str], shown: set[str], most: int = 25) -> str:
    lines: list[str] = []

    def summary(node: _Dir) -> str:
        kinds = sorted(node.kinds().items(), key=lambda kv: (-kv[1], kv[0]))[:4]
        return f"{node.count()} files: " + ", ".join(f"{n} {ext}" for ext, n in kinds)

    def draw(node: _Dir, path: str, depth: int) -> None:
        pad = "  " * depth
        for name, sub in sorted(node.dirs.items()):
            full = f"{path}/{name}" if path else name
            if full in expanded:
                lines.append(f"{pad}{name}/")
                draw(sub, full, depth + 1)
            else:
                lines.append(f"{pad}{name}/ ({summary(sub)})")
        listed = node.files if len(node.files) <= most else [
            f for f in node.files if (f"{path}/{f}" if path else f) in shown][:10]
        lines.extend(f"{pad}{name}" for name in listed)
        if len(listed) < len(node.files):
            rest = _Dir(files=[f for f in node.files if f not in listed])
            lines.append(f"{pad}... {summary(rest)} more")

    draw(root, "", 0)
    return "\n".join(lines)


def _fence(text: str) -> str:
    longest = 2
    run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * (longest + 1)


def _block(path: str, text: str, title: str) -> str:
    fence = _fence(text)
    lang = _LANG.get(posixpath.splitext(path)[1], "")
    body = text if text.endswith("\n") else text + "\n"
    return f"#### {title}\n{fence}{lang}\n{body}{fence}\n"


def _files(request: AnyRequest, cap: int) -> tuple[str, set[str]]:
    """Hydrated files (the latest asked first), then files with content, then excerpts, while ``cap`` lasts.

    A hydrated file gets at most half the share when there are several, and is cut at a line boundary
    (its title saying which lines are shown) rather than dropped when it does not fit whole.
    """
    blocks: list[str] = []
    spent = 0
    left_out: set[str] = set()
    seen: set[str] = set()
    hydrated = list(reversed(request.hydrated))
    ordered: list[tuple[FileView, bool]] = [(f, True) for f in hydrated]
    ordered += [(f, False) for f in request.context.files if f.content is not None]
    share = cap if len(hydrated) <= 1 else cap // 2
    for view, pinned in ordered:
        if view.path in seen or view.content is None:
            continue
        seen.add(view.path)
        note = " (asked for: kept in every later call)" if pinned else ""
        if view.frozen:
            note += " (metric code, lines " + ", ".join(f"{a}-{b}" for a, b in view.frozen) + ": do not change)"
        block = _block(view.path, view.content, f"{view.path}{note}")
        room = min(share, cap - spent) if pinned else cap - spent
        if len(block) > room and pinned:
            block = _cut(view, note, room)
        if not block or len(block) > room:
            left_out.add(view.path)
            continue
        spent += len(block)
        blocks.append(block)
    for view in request.context.files:
        if view.path in seen:
            continue
        for excerpt in view.excerpts:
            block = _block(view.path, excerpt.text, f"{view.path} lines {excerpt.start_line}-{excerpt.end_line} "
                                                    f"({excerpt.symbol}; an excerpt: ask to hydrate the file "
                                                    "before editing elsewhere in it)")
            if spent + len(block) > cap:
                break
            spent += len(block)
            blocks.append(block)
    return "\n".join(blocks), left_out


def _cut(view: FileView, note: str, room: int) -> str:
    """The file's first lines that fit ``room`` characters, titled with the range shown ('' if too few fit)."""
    lines = (view.content or "").splitlines(keepends=True)
    kept: list[str] = []
    size = 200 + len(view.path) + len(note)  # the title, the fences and the range note
    for line in lines:
        if size + len(line) > room:
            break
        kept.append(line)
        size += len(line)
    if len(kept) < 20:
        return ""
    title = (f"{view.path} lines 1-{len(kept)} of {len(lines)}{note} (the rest did not fit the budget; "
             "a search block must quote lines shown here)")
    return _block(view.path, "".join(kept), title)


def _symbols(views: list[FileView], left_out: set[str], shown: set[str], cap: int) -> str:
    """Outlines of files not shown in full: those with excerpts first, then those beside shown files."""
    shown_dirs = {posixpath.dirname(p) for p in shown}

    def rank(view: FileView) -> tuple[int, str]:
        near = posixpath.dirname(view.path) in shown_dirs
        return (0 if view.excerpts else 1 if view.path in left_out else 2 if near else 3, view.path)

    lines: list[str] = []
    spent = 0
    for view in sorted((v for v in views if v.outline and (v.content is None or v.path in left_out)), key=rank):
        entry = f"{view.path}\n" + "\n".join(f"  {line}" for line in view.outline)
        if spent + len(entry) + 1 > cap:
            continue
        spent += len(entry) + 1
        lines.append(entry)
    return "\n".join(lines)


def _protected(views: list[FileView]) -> str:
    """Protected files grouped by reason, a folder named once when all its files share it."""
    by_reason: dict[str, list[str]] = {}
    for view in views:
        if view.protected:
            by_reason.setdefault(view.protected, []).append(view.path)
    folders: dict[str, set[str]] = {}
    for view in views:
        folders.setdefault(posixpath.dirname(view.path), set()).add(view.protected or "")
    lines = []
    for reason, paths in sorted(by_reason.items()):
        names: list[str] = []
        for path in sorted(paths):
            folder = posixpath.dirname(path)
            if folder and folders.get(folder) == {reason} and len(paths) > 3:
                if f"{folder}/" not in names:
                    names.append(f"{folder}/")
            else:
                names.append(path)
        shown = names[:30] + ([f"... {len(names) - 30} more"] if len(names) > 30 else [])
        lines.append(f"- {reason}: {', '.join(shown)}")
    return "\n".join(lines)
