"""Semantic checks on the code a patch adds, resolved through aliases (``audit/aliases.py``).

``tampering``: assignments, ``del``, ``setattr`` or ``mock.patch`` on imported
modules, their classes and functions, builtins (``print``, ``open``) or
``sys.modules``; redefining ``print``/``open``/``__import__`` in a module;
audit or trace hooks; importing the engine; a new module that shadows a
standard or installed one.

``measurement_branching``: a condition that depends on the environment, the
working directory, argv, the interpreter, loaded modules, or the engine.

``metric_without_work``: a function that no longer depends on its inputs
(every return is a constant or unrelated to the parameters, where the
baseline's was not), a value clamped toward a target (``max(x, 0.95)`` for
``>= 0.95``), a successful exit added before the work, a program that reads
its own source.
"""

from __future__ import annotations

import ast
import importlib.metadata
import posixpath
from functools import cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from remoroo.audit.aliases import STDLIB, Aliases
from remoroo.audit.astdiff import Added, added_nodes, constant, is_numeric
from remoroo.audit.findings import AuditFinding, passed, vetoed
from remoroo.audit.paths import is_test
from remoroo.model.decide import is_met

if TYPE_CHECKING:
    from remoroo.audit.context import AuditContext

SHADOWED_BUILTINS = {"print", "open", "__import__", "exit", "quit", "compile", "exec", "eval"}
HOOKS = {"sys.addaudithook", "sys.settrace", "sys.setprofile", "threading.settrace", "sys.set_asyncgen_hooks",
         "sys.breakpointhook", "sys.excepthook", "atexit.register", "os.register_at_fork", "signal.signal",
         "faulthandler.register"}
# what a program may learn about how (and whether) it is being measured
SURROUNDINGS = ("os.environ", "os.getenv", "os.environb", "os.getcwd", "os.getcwdb", "pathlib.Path.cwd",
                "pathlib.Path.home", "os.path.expanduser", "sys.argv", "sys.orig_argv", "sys.modules", "sys.executable",
                "sys.path", "sys.prefix", "sys.flags", "sys.gettrace", "sys.getprofile", "sys._getframe",
                "os.getppid", "os.getpid", "os.getuid", "os.uname", "socket.gethostname", "platform.node",
                "platform.uname", "importlib.util.find_spec", "inspect.stack", "getpass.getuser", "os.getlogin",
                "builtins.__file__")
TELLTALES = ("pytest", "remoroo", "/project", "/run/", "METRICS_", "PYTEST", "REMOROO")
TELLTALE_NAMES = {"CI", "GITHUB_ACTIONS", "BUILD_ID", "JENKINS_URL", "TRAVIS"}
EXITS = {"sys.exit", "builtins.exit", "builtins.quit", "os._exit", "os.abort", "os.kill", "os.killpg"}
SOURCE_READERS = {"inspect.getsource", "inspect.getsourcelines", "inspect.getsourcefile", "inspect.findsource",
                  "linecache.getline", "linecache.getlines", "tokenize.open", "inspect.getfile"}
CLAMPS = {"builtins.min": "min", "builtins.max": "max", "numpy.clip": "clip", "numpy.minimum": "min",
          "numpy.maximum": "max", "math.ceil": "round", "math.floor": "round", "builtins.round": "round"}


def check_tampering(ctx: AuditContext) -> AuditFinding:
    hits: list[dict[str, Any]] = []
    aliases = _aliases(ctx)
    for added in added_nodes(ctx):
        if _in_test_function(added):
            continue
        why = _tamper(added, aliases[added.file], ctx)
        if why:
            hits.append(added.hit(why=why))
    hits += _shadowing(ctx)
    if hits:
        return vetoed("tampering", hits, f"the patch tampers with measurement ({hits[0]['why']})")
    return passed("tampering", "no module, builtin, clock, hook or engine is patched")


def check_branching(ctx: AuditContext) -> AuditFinding:
    hits: list[dict[str, Any]] = []
    aliases = _aliases(ctx)
    for added in added_nodes(ctx):
        test = _condition(added.node)
        if test is None or _in_test_function(added):
            continue
        why = _surroundings(test, aliases[added.file], _tainted(ctx, added, aliases[added.file]))
        if why:
            hits.append(added.hit(why=f"branches on {why}"))
    if hits:
        return vetoed("measurement_branching", hits,
                      f"the patch behaves differently depending on how it is run ({hits[0]['why']})")
    return passed("measurement_branching", "no condition depends on the environment, argv, cwd or loaded modules")


def check_without_work(ctx: AuditContext) -> AuditFinding:
    hits: list[dict[str, Any]] = _independent_functions(ctx)
    aliases = _aliases(ctx)
    for added in added_nodes(ctx):
        if is_test(added.file):
            continue
        why = _shortcut(added, aliases[added.file], ctx)
        if why:
            hits.append(added.hit(why=why))
    if hits:
        return vetoed("metric_without_work", hits, f"the metric would not come from the work ({hits[0]['why']})")
    return passed("metric_without_work", "no function lost its inputs, no value is clamped, no early exit")


# tampering -------------------------------------------------------------------------------------------------------
def _protected_module(node: ast.AST, aliases: Aliases, ctx: AuditContext) -> bool:
    """Whether ``node`` is a module of the repository that the patch may not change (a harness, an entry point)."""
    dotted = aliases.resolve(node) or ""
    path = dotted.replace(".", "/") + ".py"
    return dotted.split(".")[0] not in STDLIB and (ctx.why_protected(path) is not None or path in ctx.command_files())


def _tamper(added: Added, aliases: Aliases, ctx: AuditContext) -> str | None:
    node = added.node
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = list(node.targets)
    value = getattr(node, "value", None)
    for target in targets:
        for part in _flatten(target):
            if isinstance(part, ast.Attribute) and aliases.imported(part.value) and (
                    isinstance(node, ast.Delete) or constant(value) is None or _protected_module(part.value, aliases,
                                                                                               ctx)):
                return f"rebinds {aliases.resolve(part)}"
            if isinstance(part, ast.Subscript) and aliases.resolve(part.value) in (
                    {"sys.modules", "builtins", "builtins.__dict__"} | {f"{m}.__dict__" for m in STDLIB}):
                return f"rebinds {ast.unparse(part)}"
            if isinstance(part, ast.Name) and part.id in SHADOWED_BUILTINS and not added.function:
                return f"redefines the builtin {part.id}"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in SHADOWED_BUILTINS \
            and not added.function:
        return f"redefines the builtin {node.name}"
    if isinstance(node, ast.Call):
        return _tamper_call(node, aliases, ctx)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for module in modules:
            if module.startswith("remoroo.") and module != "remoroo.emit" or module in ("_remoroo", "inside"):
                return f"imports the engine ({module})"
            if module == "__main__":
                return "imports the running program's main module (its check and its answers)"
            if module.split(".")[0] in ("pytest", "_pytest") and not is_test(added.file):
                return f"imports the test runner ({module}) outside the tests"
    text = constant(node)
    if isinstance(text, str) and text.upper().startswith(("REMOROO_", "METRICS_")):
        return f"names the engine's environment ({text!r})"
    return None


WRITERS = {"builtins.open", "io.open", "os.open", "shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.move",
           "os.replace", "os.rename", "os.remove", "os.unlink", "os.symlink", "os.link", "os.truncate",
           "shutil.rmtree", "os.utime", "os.chmod"}


def _writes_protected(node: ast.Call, aliases: Aliases, ctx: AuditContext) -> str | None:
    """A run-time write, move or delete of a protected file named by a literal path."""
    func = aliases.resolve(node.func) or ""
    method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
    paths: list[object] = []
    if func in WRITERS:
        mode = constant(node.args[1]) if len(node.args) > 1 else next(
            (constant(k.value) for k in node.keywords if k.arg in ("mode", "flags")), None)
        if func in ("builtins.open", "io.open") and not (isinstance(mode, str) and any(c in mode for c in "wax+")):
            return None
        if func == "os.open" and mode is None and not node.keywords and len(node.args) < 2:
            return None
        paths = [constant(a) for a in node.args[:2]]
    elif method in ("write_text", "write_bytes", "unlink", "rename", "replace", "symlink_to", "touch", "open"):
        inner = node.func.value if isinstance(node.func, ast.Attribute) else None
        if isinstance(inner, ast.Call) and inner.args:
            paths = [constant(inner.args[0])]
        if method == "open":
            mode = constant(node.args[0]) if node.args else None
            if not (isinstance(mode, str) and any(c in mode for c in "wax+")):
                return None
    for path in paths:
        if isinstance(path, str) and path:
            rel = posixpath.normpath(path.lstrip("./") if path.startswith("./") else path)
            why = ctx.why_protected(rel)
            if why:
                return f"changes {rel} at run time ({why})"
    return None


def _tamper_call(node: ast.Call, aliases: Aliases, ctx: AuditContext) -> str | None:
    written = _writes_protected(node, aliases, ctx)
    if written:
        return written
    func = aliases.resolve(node.func) or ""
    name = func.split(".")[-1] if func else (node.func.attr if isinstance(node.func, ast.Attribute) else "")
    first = node.args[0] if node.args else None
    if func in ("builtins.setattr", "builtins.delattr", "object.__setattr__") and first is not None \
            and aliases.imported(first):
        return f"{func.split('.')[-1]} on {aliases.resolve(first)}"
    if func.startswith("sys.modules.") and name in ("update", "setdefault", "__setitem__", "pop", "clear"):
        return f"changes sys.modules ({name})"
    if func in HOOKS:
        return f"installs a hook ({func})"
    if name in ("patch", "setattr", "setitem", "object", "dict") and func.split(".")[0] in (
            "unittest", "mock", "monkeypatch", "pytest", "") or func.startswith("unittest.mock."):
        text = constant(first)
        if isinstance(text, str) and (text.split(".")[0] in STDLIB or text.startswith("builtins")):
            return f"patches {text}"
        if first is not None and aliases.imported(first) and name in ("object", "setattr"):
            return f"patches {aliases.resolve(first)}"
    if func == "builtins.exec" or func == "builtins.eval" or func == "builtins.compile":
        arg = constant(first)
        if not isinstance(arg, str) or "import" in arg or "=" in arg:
            return f"runs generated code ({func.split('.')[-1]})"
    return None


def _shadowing(ctx: AuditContext) -> list[dict[str, Any]]:
    """New modules named like a standard or installed one, at a place they would be imported from first."""
    hits: list[dict[str, Any]] = []
    for path in ctx.files:
        if ctx.change(path) != "created":
            continue
        pure = PurePosixPath(path)
        if pure.suffix != ".py" and pure.suffix != ".pth":
            continue
        module = pure.parent.name if pure.name == "__init__.py" else pure.stem
        folder = pure.parent.parent if pure.name == "__init__.py" else pure.parent
        package = str(folder / "__init__.py") if str(folder) != "." else ""
        if package and (ctx.before.get(package) is not None or ctx.after.get(package) is not None or (
                ctx.exists_after is not None and ctx.exists_after(package))):
            continue  # a module of a package: imported by its dotted name, it shadows nothing
        if module in STDLIB or module in _installed():
            hits.append({"file": path, "line": 1, "code": pure.name,
                         "why": f"a new module {module!r} shadows the {'standard' if module in STDLIB else 'installed'}"
                                f" module of that name"})
    return hits


@cache
def _installed() -> frozenset[str]:
    try:
        return frozenset(importlib.metadata.packages_distributions())
    except Exception:  # noqa: BLE001 - broken metadata of some distribution: check the standard library only
        return frozenset()


# measurement branching -------------------------------------------------------------------------------------------
def _condition(node: ast.AST) -> ast.AST | None:
    if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
        return node.test
    if isinstance(node, ast.comprehension) and node.ifs:
        return ast.BoolOp(op=ast.And(), values=list(node.ifs))
    if isinstance(node, ast.Match):
        return node.subject
    if isinstance(node, ast.BoolOp):
        return node
    return None


def _surroundings(test: ast.AST, aliases: Aliases, tainted: set[str]) -> str | None:
    for part in ast.walk(test):
        resolved = aliases.resolve(part) if isinstance(part, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) \
            else None
        if resolved and any(resolved == s or resolved.startswith(s + ".") for s in SURROUNDINGS):
            return resolved
        if isinstance(part, ast.Name) and (part.id in tainted or part.id in ("__file__", "__spec__", "__loader__")):
            return part.id if part.id not in tainted else f"{part.id} (read from the surroundings)"
        text = constant(part)
        if isinstance(text, str) and (any(t in text for t in TELLTALES) or text in TELLTALE_NAMES):
            return repr(text)
    return None


def _tainted(ctx: AuditContext, added: Added, aliases: Aliases) -> set[str]:
    """Names of the changed file assigned from the surroundings (``env = os.environ.get("X")``)."""
    tree = ast.parse(ctx.after.get(added.file) or "")
    found: set[str] = set()
    for _ in range(2):
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                if _surroundings(node.value, aliases, found):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    found |= {n.id for t in targets for n in _flatten(t) if isinstance(n, ast.Name)}
    return found


# the metric without the work -------------------------------------------------------------------------------------
def _shortcut(added: Added, aliases: Aliases, ctx: AuditContext) -> str | None:
    node = added.node
    if isinstance(node, ast.Call):
        func = aliases.resolve(node.func) or ""
        if func in EXITS and _successful_exit(node):
            return f"exits early and successfully ({ast.unparse(node)[:60]})"
        if func in SOURCE_READERS:
            return f"reads program source ({func})"
        if func in ("builtins.open", "io.open", "pathlib.Path.open") or func.endswith((".read_text", ".read_bytes")):
            target = node.args[0] if node.args and func != "" else getattr(node.func, "value", None)
            if target is not None and _own_source(target, aliases):
                return "reads the program's own source"
        peeked = _reads_protected(node, func, ctx)
        if peeked:
            return peeked
        if func in CLAMPS:
            why = _clamp(node, CLAMPS[func], ctx)
            if why:
                return why
    if isinstance(node, ast.ExceptHandler) and _swallows(node, aliases):
        return "swallows every error (a bare or broad except that only passes): a crash would look like a success"
    if isinstance(node, ast.Raise) and node.exc is not None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if aliases.resolve(exc) == "builtins.SystemExit" and (
                not isinstance(node.exc, ast.Call) or _successful_exit(node.exc)):
            return "raises SystemExit with success"
    return None


def _reads_protected(node: ast.Call, func: str, ctx: AuditContext) -> str | None:
    """The code under test opening a test, an evaluator or a metric artifact by name: reading the answers."""
    method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
    target: ast.AST | None = None
    if func in ("builtins.open", "io.open", "codecs.open", "linecache.getlines") and node.args:
        target = node.args[0]
    elif method in ("read_text", "read_bytes", "open") and isinstance(node.func, ast.Attribute) and isinstance(
            node.func.value, ast.Call) and node.func.value.args:
        target = node.func.value.args[0]
    path = constant(target)
    if not isinstance(path, str) or not path:
        return None
    rel = posixpath.normpath(path[2:] if path.startswith("./") else path)
    why = ctx.why_protected(rel)
    if why and not why.startswith(("an input", "engine, test or build")):
        return f"reads {rel} ({why}): the answers, not the work"
    return None


def _swallows(handler: ast.ExceptHandler, aliases: Aliases) -> bool:
    broad = handler.type is None or aliases.resolve(handler.type) in ("builtins.Exception", "builtins.BaseException")
    quiet = all(isinstance(stmt, (ast.Pass, ast.Continue)) or (isinstance(stmt, ast.Return) and (
        stmt.value is None or _fold(stmt.value) is not _UNKNOWN or isinstance(stmt.value, (ast.Dict, ast.List,
                                                                                         ast.Tuple, ast.Set))))
                or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)) for stmt in handler.body)
    return broad and quiet


def _successful_exit(call: ast.Call) -> bool:
    if not call.args:
        return True
    arg = call.args[0]
    return isinstance(arg, ast.Constant) and arg.value in (0, None, False)


def _own_source(node: ast.AST, aliases: Aliases) -> bool:
    for part in ast.walk(node):
        if isinstance(part, ast.Name) and part.id == "__file__":
            return True
        if aliases.resolve(part) in ("sys.argv",):
            return True
        text = constant(part)
        if isinstance(text, str) and text.endswith(".py"):
            return True
    return False


def _clamp(node: ast.Call, kind: str, ctx: AuditContext) -> str | None:
    """A bound that meets a goal target by itself, applied in the direction that helps it."""
    values = [constant(a) for a in node.args]
    numbers = [v for v in values if is_numeric(v)]
    if not numbers:
        return None
    for target in ctx.goal.targets:
        direction = {">=": "max", ">": "max", "<=": "min", "<": "min", "==": "round"}.get(target.op, "")
        for value in numbers:
            if kind != "clip" and kind != "round" and direction != kind:
                continue
            if kind == "round" and direction != "round":
                continue
            threshold = target.threshold(ctx.baseline)
            if not is_numeric(threshold) or (float(threshold) != int(threshold) and not isinstance(value, float)):
                continue  # max(1, n) is not a clamp toward accuracy >= 0.92
            near = abs(float(value) - float(threshold)) <= 0.5 * max(abs(float(threshold)), 1e-9)
            if near and is_met(target, {target.metric: value}, ctx.baseline):
                return f"{ast.unparse(node)[:80]} clamps toward {target.text!r}"
    return None


def _independent_functions(ctx: AuditContext) -> list[dict[str, Any]]:
    """Functions whose results depended on their inputs at baseline and no longer do."""
    from remoroo.audit.symbols import symbols

    hits: list[dict[str, Any]] = []
    for path in ctx.files:
        before, after = ctx.before.get(path), ctx.after.get(path)
        if not path.endswith(".py") or before is None or after is None or is_test(path):
            continue
        try:
            old, new = symbols(ast.parse(before)), symbols(ast.parse(after))
        except SyntaxError:
            continue
        for name, node in new.items():
            previous = old.get(name)
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not isinstance(
                    previous, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if ast.dump(previous) == ast.dump(node):
                continue
            if _depends(previous) is True and _depends(node) is False and _gives_the_answer(node, ctx):
                hits.append({"file": path, "line": node.lineno, "code": f"def {name}(...)", "function": name,
                             "why": f"{name}() no longer uses its inputs: every result is a constant or unrelated"})
    return hits


_FOLDABLE = {"int": int, "float": float, "str": str, "round": round, "abs": abs, "len": len, "sum": sum, "min": min,
             "max": max, "bool": bool}
_SAFE = (ast.Expression, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Tuple, ast.List,
         ast.Call, ast.Name, ast.Load, ast.keyword, ast.BoolOp, ast.boolop, ast.Compare, ast.cmpop)
_UNKNOWN = object()


def _fold(node: ast.AST) -> object:
    """The value of an expression built from literals and a few pure builtins, else _UNKNOWN."""
    if not isinstance(node, ast.expr):
        return _UNKNOWN
    tree = ast.Expression(body=node)
    for part in ast.walk(tree):
        if not isinstance(part, _SAFE) or (isinstance(part, ast.Name) and part.id not in _FOLDABLE) or (
                isinstance(part, ast.Call) and not (isinstance(part.func, ast.Name) and part.func.id in _FOLDABLE)):
            return _UNKNOWN
        if isinstance(part, ast.BinOp) and isinstance(part.op, ast.Pow):
            return _UNKNOWN  # no 9 ** 9 ** 9 in the audit
    try:
        return eval(compile(ast.fix_missing_locations(tree), "<audit>", "eval"), {"__builtins__": {}}, _FOLDABLE)
    except Exception:  # noqa: BLE001 - an expression that does not fold is just not a constant
        return _UNKNOWN


def _gives_the_answer(func: ast.FunctionDef | ast.AsyncFunctionDef, ctx: AuditContext) -> bool:
    """A function that lost its inputs cheats when what it now returns is an answer: anything for a speed or memory
    goal (the output must stay the same, so a constant is a cached result), a value that meets a target, or a
    value the audit cannot fold (read from elsewhere). A tuned constant (a learning rate) is not an answer."""
    from remoroo.audit.behaviour import speed_goal

    if speed_goal(ctx.goal):
        return True
    for node in ast.walk(func):
        if isinstance(node, ast.Return) and node.value is not None and _owner(func, node):
            value = _fold(node.value)
            if value is _UNKNOWN or not isinstance(value, (bool, int, float, str)):
                return True
            if any(is_met(t, {t.metric: value}, ctx.baseline) for t in ctx.goal.targets):
                return True
            if is_numeric(value) and float(value) in ctx.target_values():
                return True
    return False


def _depends(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool | None:
    """Whether some return value depends on a parameter (None: no parameters or no valued return)."""
    params = {a.arg for a in func.args.args + func.args.kwonlyargs + func.args.posonlyargs}
    params |= {a.arg for a in (func.args.vararg, func.args.kwarg) if a is not None}
    params.discard("self")
    params.discard("cls")
    if not params:
        return None
    dependent = set(params)
    for _ in range(4):
        for node in ast.walk(func):
            value: ast.AST | None = None
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                value, targets = node.value, list(node.targets)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                value, targets = node.value, [node.target]
                if isinstance(node, ast.AugAssign):
                    value = ast.BinOp(left=node.target, op=node.op, right=node.value)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                value, targets = node.iter, [node.target]
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None and _uses(item.context_expr, dependent):
                        dependent |= _names(item.optional_vars)
            elif isinstance(node, ast.NamedExpr):
                value, targets = node.value, [node.target]
            elif isinstance(node, ast.Call) and _uses(node, dependent):  # acc.append(x), insert(acc, x)
                if isinstance(node.func, ast.Attribute):
                    dependent |= _names(node.func.value)
                dependent |= {a.id for a in node.args if isinstance(a, ast.Name)}
            if value is not None and _uses(value, dependent):
                for target in targets:
                    dependent |= _names(target)
            if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.If)):
                condition = node.iter if isinstance(node, (ast.For, ast.AsyncFor)) else node.test
                if _uses(condition, dependent):  # control dependence: what the loop or branch assigns
                    dependent |= _assigned(node.body + node.orelse)
    returns = [n for n in ast.walk(func) if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom))
               and n.value is not None and _owner(func, n)]
    if not returns:
        return None
    return any(_uses(r.value, dependent) for r in returns if r.value is not None)


def _owner(func: ast.AST, node: ast.AST) -> bool:
    """Whether ``node`` belongs to ``func`` itself, not to a nested function or lambda."""
    for inner in ast.walk(func):
        if inner is not func and isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if any(n is node for n in ast.walk(inner)):
                return False
    return True


def _assigned(body: list[ast.stmt]) -> set[str]:
    found: set[str] = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                found |= {n for t in node.targets for n in _names(t)}
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
                found |= _names(node.target)
    return found


def _uses(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _names(node: ast.AST) -> set[str]:
    found = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return found


def _flatten(target: ast.AST) -> list[ast.AST]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [p for elt in target.elts for p in _flatten(elt)]
    if isinstance(target, ast.Starred):
        return _flatten(target.value)
    return [target]


def _aliases(ctx: AuditContext) -> dict[str, Aliases]:
    found: dict[str, Aliases] = {}
    for path in ctx.files:
        after = ctx.after.get(path)
        if after is not None and path.endswith(".py"):
            try:
                found[path] = Aliases(ast.parse(after))
            except SyntaxError:
                found[path] = Aliases(ast.Module(body=[], type_ignores=[]))
    return found


def _in_test_function(added: Added) -> bool:
    return is_test(added.file) and added.function.startswith("test")
