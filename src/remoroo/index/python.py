"""Python files: symbols with spans and signatures, imports, entry points and calls, from ``ast``."""

from __future__ import annotations

import ast

from remoroo.index.model import FileEntry, Symbol

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def parse(entry: FileEntry, text: str) -> None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        entry.parsed = False
        return
    name = entry.path.rsplit("/", 1)[-1]
    entry.entry_point = name.startswith("test_") or name.endswith("_test.py") or name == "__main__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            entry.imports += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            entry.imports.append(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.If) and _is_main_guard(node.test):
            entry.entry_point = True
    for node in tree.body:
        if isinstance(node, _DEFS):
            entry.symbols.append(_symbol(node, "function", node.name))
        elif isinstance(node, ast.ClassDef):
            entry.symbols.append(_symbol(node, "class", node.name))
            for item in node.body:
                if isinstance(item, _DEFS):
                    entry.symbols.append(_symbol(item, "method", f"{node.name}.{item.name}"))
    top = [n for n in tree.body if not isinstance(n, (*_DEFS, ast.ClassDef))]
    entry.symbols.append(Symbol(name="<module>", kind="module", line=1, end_line=len(text.splitlines()),
                                calls=_calls(top)))


def _is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def _symbol(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, kind: str, name: str) -> Symbol:
    signature = f"({ast.unparse(node.args)})" if isinstance(node, _DEFS) else ""
    return Symbol(name=name, kind=kind, line=node.lineno, end_line=node.end_lineno or node.lineno,
                  signature=signature, calls=_calls([node]))


def _calls(nodes: list[ast.AST]) -> list[str]:
    found: dict[str, None] = {}
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name:
                    found.setdefault(name)
    return list(found)
