"""Python files: symbols with spans and signatures, imports, entry points and calls, from ``ast``.

One pass over the tree: top-level functions and classes and their methods are
symbols; a call belongs to every recorded symbol around it (a method's calls
are its class's too), and top-level statements' calls to ``<module>``.
"""

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
    module = Symbol(name="<module>", kind="module", line=1, end_line=len(text.splitlines()))
    collector = _Collector(entry, module)
    collector.visit(tree)
    entry.symbols = collector.symbols + [module]
    for symbol in entry.symbols:
        symbol.calls = list(dict.fromkeys(symbol.calls))


class _Collector(ast.NodeVisitor):
    def __init__(self, entry: FileEntry, module: Symbol) -> None:
        self.entry = entry
        self.stack: list[Symbol] = [module]
        self.symbols: list[Symbol] = []
        self.depth = 0  # 0: module level; 1: inside a top-level class body

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if len(self.stack) == 1 or (len(self.stack) == 2 and self.stack[-1].kind == "class"):
            owner = self.stack[-1].name if len(self.stack) == 2 else ""
            symbol = Symbol(name=f"{owner}.{node.name}" if owner else node.name,
                            kind="method" if owner else "function", line=node.lineno,
                            end_line=node.end_lineno or node.lineno, signature=f"({ast.unparse(node.args)})")
            self._inside(symbol, node)
        else:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 - the visitor's naming

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if len(self.stack) == 1:
            self._inside(Symbol(name=node.name, kind="class", line=node.lineno,
                                end_line=node.end_lineno or node.lineno), node)
        else:
            self.generic_visit(node)

    def _inside(self, symbol: Symbol, node: ast.AST) -> None:
        self.symbols.append(symbol)
        self.stack.append(symbol)
        self.generic_visit(node)
        self.stack.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name:
            for symbol in self.stack[1:] or self.stack:
                symbol.calls.append(name)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.entry.imports += [a.name for a in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module or node.level:
            self.entry.imports.append(("." * node.level) + (node.module or ""))

    def visit_If(self, node: ast.If) -> None:
        if _is_main_guard(node.test):
            self.entry.entry_point = True
        self.generic_visit(node)


def _is_main_guard(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}
