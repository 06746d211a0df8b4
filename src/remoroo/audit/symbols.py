"""The metric's own code, protected symbol by symbol: the audit compares its AST with the baseline's.

In a Python file that a measured command runs, or that holds a metric's
emission site (the print of its stdout label, its ``emit`` call, its artifact
key), three things are never editable: the module-level code (the
``__main__`` guard and block, workload constants, self-checks, counters and
tolerances written at the top level), every function that holds an emission
site, and, when the plan's intents name ``file.py:symbol``, every symbol of
the file they do not name. Imports, new functions and the other functions of
the file stay editable, so the code under test may share a file with its
check.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from remoroo.audit.aliases import STDLIB, Aliases
from remoroo.audit.findings import AuditFinding, passed, vetoed
from remoroo.audit.paths import is_test
from remoroo.model.metrics import is_memory, is_timing

if TYPE_CHECKING:
    from remoroo.audit.context import AuditContext

_SKIPPED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def check_metric_code(ctx: AuditContext) -> AuditFinding:
    hits: list[dict[str, Any]] = []
    labels = metric_labels(ctx)
    entries = ctx.command_files()
    scorers = metric_functions(ctx, labels)
    for path in ctx.files:
        before, after = ctx.before.get(path), ctx.after.get(path)
        if not path.endswith(".py") or before is None:
            continue
        old = _parse(before)
        if old is None:
            continue
        if after is None:
            if path in entries or emitters(old, labels):
                hits.append({"file": path, "line": 1, "code": "deleted", "why": "the file holds the metric's code"})
            continue
        new = _parse(after)
        if new is None:
            raise ValueError(f"{path} does not parse as Python")
        hits += _compare(ctx, path, old, new, labels, entry=path in entries, scorers=scorers.get(path, set()))
    hits += _new_sites(ctx, labels)
    if hits:
        return vetoed("metric_code", hits, f"the patch changes the metric's own code ({hits[0]['why']})")
    return passed("metric_code", "the metric's own code (entry point, emission sites) is unchanged")


def _compare(ctx: AuditContext, path: str, old: ast.Module, new: ast.Module, labels: set[str],
             entry: bool, scorers: set[str]) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    sites = emitters(old, labels)
    if entry and "exit_code" in ctx.goal.metric_names:
        sites |= _exit_functions(old)  # sys.exit(main()): main() computes the measured exit status
    top_sites = set(sites)
    named = ctx.editable_symbols(path)
    sites |= scorers - (named or set())  # a scorer the plan names as code under test (file.py:func) is editable
    data: set[str] = set()  # the check's own definitions: cases, expected answers, tolerances
    sites |= {".".join(s.split(".")[:k]) for s in sites for k in range(1, s.count(".") + 1)}  # enclosing functions
    if top_sites or (entry and _workload_goal(ctx)):
        guarded = {name for name in symbols(old) if name in sites}
        old_top = _top_level(old, guarded, ctx.instrumentation, data)
        new_top = _top_level(new, guarded, ctx.instrumentation)
        if old_top != new_top:
            line = _first_difference(old, new, ctx.instrumentation)
            hits.append({"file": path, "line": line, "code": _line(ctx.after.get(path) or "", line),
                         "why": "module-level code of a measured entry point or metric file"})
    elif entry:  # a goal on exit status: the entry point's own code may be the fix, its __main__ block is not
        old_main, new_main = _main_blocks(old, ctx.instrumentation), _main_blocks(new, ctx.instrumentation)
        if old_main != new_main:
            line = next((getattr(n, "lineno", 1) for n in new.body if _is_main_guard(n)), 1)
            hits.append({"file": path, "line": line, "code": _line(ctx.after.get(path) or "", line),
                         "why": "the entry point's __main__ guard and block"})
    old_defs, new_defs = symbols(old), symbols(new)
    for name, node in old_defs.items():
        changed = name not in new_defs or _dump(node, ctx.instrumentation) != _dump(new_defs[name],
                                                                                    ctx.instrumentation)
        if not changed:
            continue
        where = getattr(new_defs.get(name), "lineno", 1)
        code = _line(ctx.after.get(path) or "", where) if name in new_defs else f"{name} removed"
        if name in sites:
            role = "scores the code under test for a metric" if name in scorers else "reports a metric"
            hits.append({"file": path, "line": where, "code": code, "function": name, "why": f"{name}() {role}"})
        elif name in new_defs and (peeked := _reads(new_defs[name], data) - _reads(node, data)):
            hits.append({"file": path, "line": where, "code": code, "function": name,
                         "why": f"{name}() now reads the check's own data ({', '.join(sorted(peeked))})"})
        elif named is not None and name not in named and not any(n.startswith(name + ".") for n in named):
            hits.append({"file": path, "line": where, "code": code, "function": name,
                         "why": f"{name}() is not among the symbols the plan lets change ({', '.join(sorted(named))})"})
    for name, node in new_defs.items():
        if name not in old_defs and (peeked := _reads(node, data)):
            hits.append({"file": path, "line": getattr(node, "lineno", 1), "code": f"def {name}(...)",
                         "function": name, "why": f"{name}() reads the check's own data ({', '.join(sorted(peeked))})"})
    return hits


def _new_sites(ctx: AuditContext, labels: set[str]) -> list[dict[str, Any]]:
    """Code that starts reporting a metric where the baseline did not: a second source for the same number."""
    if ctx.instrumentation or not labels:
        return []
    hits: list[dict[str, Any]] = []
    for path in ctx.files:
        after = ctx.after.get(path)
        if not path.endswith(".py") or after is None or is_test(path):
            continue
        new = _parse(after)
        if new is None:
            continue
        old = _parse(ctx.before.get(path) or "") or ast.Module(body=[], type_ignores=[])
        for name in sorted(emitters(new, labels, strict=True) - emitters(old, labels, strict=True)):
            hits.append({"file": path, "line": getattr(symbols(new).get(name), "lineno", 1),
                         "code": name or "module level", "function": name,
                         "why": f"{name or 'the module'} starts reporting a metric ({', '.join(sorted(labels))}) "
                                "that the baseline reported elsewhere"})
    return hits


def metric_functions(ctx: AuditContext, labels: set[str]) -> dict[str, set[str]]:
    """file -> functions that score the code under test for a metric: ``acc = accuracy(predict(xs), ys)``.

    Found in the measured entry points: a repository function called where a metric is reported (or on a name
    assigned there) that takes the result of another repository call is the metric's calculation, and is
    protected like the reporting code. ``fib(10)`` takes no such result: it is the code under test.
    """
    key = "metric_functions:" + "\0".join(sorted(labels))
    if key not in ctx.memo:  # one context's answer does not change: a brain's view asks it for every file
        ctx.memo[key] = _metric_functions(ctx, labels)
    return ctx.memo[key]  # type: ignore[return-value]


def _metric_functions(ctx: AuditContext, labels: set[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    read = ctx.read_before or (lambda path: ctx.before.get(path))
    for entry in sorted(p for p in ctx.command_files() if p.endswith(".py")):
        text = read(entry)
        tree = _parse(text) if text else None
        if tree is None:
            continue
        scope = _Scope(entry, tree, Aliases(tree), read)
        repo_function = scope.repo_function
        produced = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and repo_function(node.value)
                    for t in node.targets if isinstance(t, ast.Name)}
        reported = _reported_names(tree, labels)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in reported
                                                    for t in node.targets):
                scored: ast.AST = node.value
            elif isinstance(node, (ast.If, ast.While)) and _assigns(node.body, reported):
                scored = node.test  # if check(solve(case)): passed += 1
            elif isinstance(node, ast.Expr) and any(isinstance(c, ast.Constant) and isinstance(c.value, str)
                                                    and _labelled(c.value, labels) for c in ast.walk(node)):
                scored = node.value  # print(f"ok={check(solve(case))}")
            else:
                continue
            for call in ast.walk(scored):
                target = repo_function(call)
                if target is None or not isinstance(call, ast.Call):
                    continue
                args = list(call.args) + [k.value for k in call.keywords]
                if any(repo_function(inner) for a in args for inner in ast.walk(a)) or any(
                        isinstance(inner, ast.Name) and inner.id in produced for a in args for inner in ast.walk(a)):
                    found.setdefault(target[0], set()).add(target[1])
    return found


class _Scope:
    """An entry point, to resolve its calls to functions of the repository."""

    def __init__(self, entry: str, tree: ast.Module, aliases: Any, read: Any) -> None:
        self.entry, self.tree, self.aliases, self.read = entry, tree, aliases, read
        self.folder = entry.rsplit("/", 1)[0] + "/" if "/" in entry else ""
        self.local = set(symbols(tree))

    def repo_function(self, call: ast.AST) -> tuple[str, str] | None:
        """(file, function) of a call to a function of the repository, else None."""
        if not isinstance(call, ast.Call):
            return None
        if isinstance(call.func, ast.Name) and call.func.id in self.local:
            return self.entry, call.func.id  # a function of the entry point itself
        dotted = self.aliases.resolve(call.func) or ""
        module, _, func = dotted.rpartition(".")
        if not module:
            return None
        for path in (self.folder + module.replace(".", "/") + ".py", module.replace(".", "/") + ".py"):
            if self.read(path) is not None:
                return path, func
        return None


def _assigns(body: list[ast.stmt], names: set[str]) -> bool:
    for stmt in body:
        for node in ast.walk(stmt):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AugAssign, ast.AnnAssign)) else []
            if any(isinstance(t, ast.Name) and t.id in names for t in targets):
                return True
    return False


def _reported_names(tree: ast.Module, labels: set[str]) -> set[str]:
    """Names used by the statements that hold a metric's label (its print, dump or emit)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                                ast.If, ast.For, ast.While, ast.With, ast.Try)):
            if any(isinstance(c, ast.Constant) and isinstance(c.value, str) and _labelled(c.value, labels)
                   for c in ast.walk(node)):
                names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return names


def metric_labels(ctx: AuditContext) -> set[str]:
    """The words that mark a metric's emission site: stdout labels, emit names, artifact keys."""
    return {inst.label for inst in ctx.plan.instrumentation if inst.label}


def emitters(tree: ast.Module, labels: set[str], strict: bool = False) -> set[str]:
    """Qualified names of the functions that hold an emission site ("" for module level); docstrings do not count."""
    found: set[str] = set()
    if not labels:
        return found

    def visit(node: ast.AST, owner: str) -> None:
        body = getattr(node, "body", None)
        docstring = body[0] if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
            and isinstance(body[0].value, ast.Constant) else None
        for child in ast.iter_child_nodes(node):
            if child is docstring:
                continue
            name = owner
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{owner}.{child.name}" if owner else child.name
            if isinstance(child, ast.Constant) and isinstance(child.value, str) and (
                    _reporting(child.value, labels) if strict else _labelled(child.value, labels)):
                found.add(owner)
            visit(child, name)

    visit(tree, "")
    return found


def _reporting(text: str, labels: set[str]) -> bool:
    """A string that reports a metric: ``"acc="``, ``"acc: "``, or the bare name (a dict key, an emit name)."""
    return text.strip() in labels or any(re.search(rf"(?<![\w]){re.escape(label)}\s*[=:]", text) for label in labels)


def _labelled(text: str, labels: set[str]) -> bool:
    return len(text) < 400 and any(re.search(rf"(?<![\w]){re.escape(label)}(?![\w])", text) for label in labels)


def symbols(tree: ast.Module) -> dict[str, ast.AST]:
    """Every function and class by qualified name (methods as ``Class.method``)."""
    found: dict[str, ast.AST] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + node.name] = node
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return found


def _workload_goal(ctx: AuditContext) -> bool:
    """A goal on a metric of the program's own (not an exit status): the entry point's top level is its workload."""
    statuses = {"exit_code", "code_runs", "tests_passed", "tests_failed", "tests_pass", "coverage"}
    return any(is_timing(m) or is_memory(m) or m not in statuses for m in ctx.goal.metric_names)


def _is_main_guard(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(node.test))


def _main_blocks(tree: ast.Module, instrumentation: bool) -> list[str]:
    return [_dump(node, instrumentation) for node in tree.body if _is_main_guard(node)]


def _top_level(tree: ast.Module, functions: set[str], instrumentation: bool,
               names: set[str] | None = None) -> list[str]:
    return [_dump(node, instrumentation) for node in _top_nodes(tree, functions, instrumentation, names)]


def _top_nodes(tree: ast.Module, functions: set[str], instrumentation: bool,
               names: set[str] | None = None) -> list[ast.stmt]:
    """The protected module-level statements: everything that runs (calls, loops, the __main__ block), and the
    definitions that code or the protected ``functions`` read (workload, tolerances, cases). A constant only
    editable functions read (a model's threshold) is not the metric's code."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the module docstring
    body = [n for n in body if not isinstance(n, _SKIPPED) and not (instrumentation and _is_emit(n))]
    defs = symbols(tree)
    runs = [n for n in body if not _definition(n)]
    readers = runs + [defs[f] for f in functions if f in defs]
    tunable = _tunable(tree, body, readers, set(defs) - functions)
    used = {n.id for node in readers for n in ast.walk(node) if isinstance(n, ast.Name)} - tunable
    used |= _sizes(tree)  # a count that bounds a loop anywhere in the file: the workload
    kept = {id(n) for n in runs}
    changed = True
    while changed:
        changed = False
        for node in body:
            if id(node) not in kept and _targets(node) & used:
                kept.add(id(node))
                used |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                changed = True
    if names is not None:
        names |= {t for node in body if id(node) in kept and _definition(node) for t in _targets(node)}
    return [node for node in body if id(node) in kept]


def _tunable(tree: ast.Module, body: list[ast.stmt], readers: list[ast.AST], editable: set[str]) -> set[str]:
    """Module-level float parameters that the protected code only hands to the code under test:
    ``train(LEARNING_RATE)``, ``predict(xs, THRESHOLD)``. Tuning them is the work; a tolerance in a comparison,
    cases iterated by the check, a count (``fib(N)``, ``range(N)``) or a seed stays the metric's."""
    aliases = Aliases(tree)
    floats: set[str] = set()
    for stmt in body:
        value = _value(stmt)
        if _definition(stmt) and isinstance(value, ast.Constant) and isinstance(value.value, float):
            floats |= _targets(stmt)
    handed: set[str] = set()
    other: set[str] = set()
    for reader in readers:
        parents = {id(child): parent for parent in ast.walk(reader) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(reader):
            if not (isinstance(node, ast.Name) and node.id in floats and isinstance(node.ctx, ast.Load)):
                continue
            parent = parents.get(id(node))
            if isinstance(parent, ast.keyword):
                parent = parents.get(id(parent))
            if isinstance(parent, ast.Call) and node is not parent.func and _under_test(parent.func, editable,
                                                                                          aliases):
                handed.add(node.id)
            else:
                other.add(node.id)
    return handed - other


_EXITS = {"sys.exit", "builtins.exit", "builtins.quit", "os._exit", "builtins.SystemExit"}


def _exit_functions(tree: ast.Module) -> set[str]:
    """Functions of the file whose result becomes the exit status (``sys.exit(main())``), or that set it
    from a computed value (``sys.exit(0 if ok else 1)``)."""
    aliases, defs = Aliases(tree), symbols(tree)
    found: set[str] = set()
    owners: dict[int, str] = {}
    for name, node in defs.items():
        for inner in ast.walk(node):
            owners.setdefault(id(inner), name)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and aliases.resolve(node.func) in _EXITS and node.args):
            continue
        arg = node.args[0]
        calls = {c.func.id for c in ast.walk(arg) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                 and c.func.id in defs}
        found |= calls
        if not isinstance(arg, ast.Constant) and id(node) in owners:
            found.add(owners[id(node)])
    return found


def _sizes(tree: ast.Module) -> set[str]:
    """Names that bound the work: arguments of ``range(...)`` and slice bounds, in any function of the file."""
    found: set[str] = set()
    for node in ast.walk(tree):
        parts: list[ast.AST] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
            parts = list(node.args)
        elif isinstance(node, ast.Slice):
            parts = [p for p in (node.lower, node.upper, node.step) if p is not None]
        found |= {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)}
    return found


def _under_test(func: ast.AST, editable: set[str], aliases: Aliases) -> bool:
    """A call to code the patch may change: an editable function of this file, or one imported from the repo."""
    if isinstance(func, ast.Name) and func.id in editable:
        return True
    dotted = aliases.resolve(func) or ""
    root = dotted.split(".")[0]
    return bool(dotted) and "." in dotted and root not in STDLIB and root != "builtins"


def _value(node: ast.stmt) -> ast.AST | None:
    return node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None


def frozen_lines(ctx: AuditContext, path: str) -> list[list[int]]:
    """Line ranges of ``path`` (its text in ``ctx.before``) that a patch may not change: for a brain's view."""
    text = ctx.before.get(path)
    tree = _parse(text) if text and path.endswith(".py") else None
    if tree is None:
        return []
    labels = metric_labels(ctx)
    entry = path in ctx.command_files()
    sites = emitters(tree, labels)
    top = bool(sites)
    sites |= {".".join(s.split(".")[:k]) for s in sites for k in range(1, s.count(".") + 1)}
    sites |= metric_functions(ctx, labels).get(path, set()) - (ctx.editable_symbols(path) or set())
    if entry and "exit_code" in ctx.goal.metric_names:
        sites |= _exit_functions(tree)
    defs = symbols(tree)
    nodes: list[ast.AST] = [defs[name] for name in sites if name in defs]
    if top or (entry and _workload_goal(ctx)):
        nodes += _top_nodes(tree, {n for n in defs if n in sites}, False)
    elif entry:
        nodes += [n for n in tree.body if _is_main_guard(n)]
    ranges: list[list[int]] = []
    for node in nodes:
        start = int(getattr(node, "lineno", 1))
        ranges.append([start, int(getattr(node, "end_lineno", None) or start)])
    return sorted(ranges)


def _reads(node: ast.AST, names: set[str]) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names}


def _definition(node: ast.stmt) -> bool:
    """A plain module-level assignment of a value computed without calls: ``N = 28``, ``CASES = [...]``."""
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
    return value is not None and not any(isinstance(n, (ast.Call, ast.Await, ast.Yield)) for n in ast.walk(value))


def _targets(node: ast.stmt) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _first_difference(old: ast.Module, new: ast.Module, instrumentation: bool) -> int:
    olds = [n for n in old.body if not isinstance(n, _SKIPPED)]
    news = [n for n in new.body if not isinstance(n, _SKIPPED)]
    for a, b in zip(olds, news, strict=False):
        if _dump(a, instrumentation) != _dump(b, instrumentation):
            return getattr(b, "lineno", 1)
    extra = news[len(olds):] or news[-1:]
    return getattr(extra[0], "lineno", 1) if extra else 1


def _dump(node: ast.AST, instrumentation: bool) -> str:
    if instrumentation:
        node = _without_emits(node)
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _is_emit(node: ast.AST) -> bool:
    """``remoroo.emit(...)`` / ``emit(...)`` as a statement, or ``import remoroo``: what instrumentation adds."""
    if isinstance(node, ast.Import):
        return all(a.name in ("remoroo", "remoroo.emit") for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.module in ("remoroo", "remoroo.emit") and all(a.name == "emit" for a in node.names)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        return (isinstance(func, ast.Name) and func.id == "emit") or (
            isinstance(func, ast.Attribute) and func.attr == "emit")
    return False


def _without_emits(node: ast.AST) -> ast.AST:
    class Strip(ast.NodeTransformer):
        def generic_visit(self, inner: ast.AST) -> ast.AST:
            super().generic_visit(inner)
            for name, value in ast.iter_fields(inner):
                if isinstance(value, list) and value and all(isinstance(v, ast.stmt) for v in value):
                    kept = [v for v in value if not _is_emit(v)]
                    setattr(inner, name, kept or [ast.Pass()])
            return inner

    copy = ast.parse(ast.unparse(node)) if not isinstance(node, ast.Module) else node
    return Strip().visit(copy)


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def _line(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1].strip()[:160] if 0 < line <= len(lines) else ""
