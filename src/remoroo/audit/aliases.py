"""What a name in a file really refers to: imports, renames, ``sys.modules``, ``importlib`` and ``__import__``.

``Aliases(tree).resolve(node)`` turns ``t.perf_counter`` (after ``import time
as t``), ``pc`` (after ``from time import perf_counter as pc``),
``sys.modules["time"].perf_counter``, ``importlib.import_module("time")`` and
``clock = time; clock.time`` into ``time.perf_counter`` or ``time.time``, so a
rule is written once against the real name, never against a spelling.
"""

from __future__ import annotations

import ast
import builtins
import sys

BUILTIN_NAMES = frozenset(dir(builtins))
STDLIB = frozenset(sys.stdlib_module_names)


class Aliases:
    def __init__(self, tree: ast.AST) -> None:
        self.names: dict[str, str] = {}
        self.modules: set[str] = set()  # local names bound to a module object
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.names[local] = alias.name if alias.asname else alias.name.split(".")[0]
                    self.modules.add(local)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for _ in range(3):  # names bound to a resolved module: m = sys.modules["time"], clock = time
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    target = node.targets[0].id
                    resolved = self.resolve(node.value)
                    if resolved and target not in self.names and self._is_module_ref(node.value):
                        self.names[target] = resolved
                        self.modules.add(target)

    def _is_module_ref(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.modules
        if isinstance(node, ast.Call):
            return self._module_call(node) is not None
        if isinstance(node, ast.Subscript):
            return self.resolve(node.value) == "sys.modules"
        return False

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name ``node`` refers to, or None when it is not a module-level reference."""
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in ("__builtins__", "builtins"):
                return "builtins"
            return f"builtins.{node.id}" if node.id in BUILTIN_NAMES else None
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):
            base = self.resolve(node.value)
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if base in ("sys.modules", "builtins.globals", "builtins.vars") and isinstance(key, str):
                return key
            if base == "builtins" and isinstance(key, str):
                return f"builtins.{key}"
            return None
        if isinstance(node, ast.Call):
            return self._module_call(node)
        return None

    def _module_call(self, node: ast.Call) -> str | None:
        func = self.resolve(node.func)
        first = node.args[0] if node.args else None
        name = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if func in ("importlib.import_module", "builtins.__import__") and name:
            return name
        if func == "sys.modules.get" and name:
            return name
        return None

    def imported(self, node: ast.AST) -> str | None:
        """The imported thing ``node`` refers to (a module, or a class or function of one), never a local value."""
        dotted = self.resolve(node)
        if not dotted or (dotted.startswith("builtins.") and dotted != "builtins"):
            return None
        return dotted
