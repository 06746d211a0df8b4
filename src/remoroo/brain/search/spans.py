"""Mutation sites of JavaScript, TypeScript, Go and Rust sources, found with tree-sitter, edited as text spans.

The same operators as for Python (:mod:`.mutate`): relational swaps, ``+``/``-``
swaps, a ``± k`` term dropped or moved by one, a literal comparison bound moved
by one, ``!`` dropped, ``true``/``false`` flipped, and numeric constants bound
to a name (``const RATE = 0.5``, ``x := 3``, ``let n = 10;``) to tune. Each
edit replaces one byte span of the file, so the rest of it, formatting and
comments included, stays as written.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import tree_sitter as ts

from remoroo.brain.search.mutate import Site

GRAMMARS = {".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
            ".ts": "typescript", ".tsx": "typescript", ".go": "go", ".rs": "rust"}
_SWAPS = {"<": ("<=", ">"), "<=": ("<",), ">": (">=", "<"), ">=": (">",), "==": ("!=",), "!=": ("==",),
          "===": ("!==",), "!==": ("===",), "+": ("-",), "-": ("+",)}
_RELATIONAL = {"<", "<=", ">", ">=", "==", "!=", "===", "!=="}
_NUMBERS = {"number", "int_literal", "float_literal", "integer_literal"}
_FUNCTIONS = {"function_declaration", "method_definition", "function_item", "method_declaration",
              "generator_function_declaration", "variable_declarator"}
_DECLARATIONS = {"variable_declarator", "const_spec", "var_spec", "short_var_declaration", "const_item",
                 "let_declaration", "static_item", "assignment_expression", "public_field_definition"}
_PLAIN_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@cache
def _parser(language: str) -> ts.Parser:
    if language == "javascript":
        import tree_sitter_javascript as grammar
        return ts.Parser(ts.Language(grammar.language()))
    if language == "typescript":
        import tree_sitter_typescript as typescript
        return ts.Parser(ts.Language(typescript.language_typescript()))
    if language == "go":
        import tree_sitter_go as go
        return ts.Parser(ts.Language(go.language()))
    import tree_sitter_rust as rust
    return ts.Parser(ts.Language(rust.language()))


def language_of(path: str) -> str | None:
    return next((lang for ext, lang in GRAMMARS.items() if path.endswith(ext)), None)


class SpanModule:
    """A parsed source file whose sites each rewrite one byte span."""

    def __init__(self, path: str, source: str, language: str) -> None:
        self.path = path
        self.source = source
        self.data = source.encode("utf-8")
        tree = _parser(language).parse(self.data)
        if tree.root_node.has_error:
            raise ValueError(f"{path} does not parse as {language}")
        self.sites: list[Site] = []
        self._seen: set[tuple[int, str]] = set()
        self._walk(tree.root_node)

    @property
    def code(self) -> str:
        return self.source

    def literal(self, site: Site) -> str:
        start, end = site.span or (0, 0)
        return self.data[start:end].decode("utf-8", "replace")

    def rewrite(self, site: Site, value: float | None = None) -> str:
        start, end = site.span or (0, 0)
        text = site.new_text if value is None else _number_text(value, self.literal(site))
        assert text is not None
        return (self.data[:start] + text.encode("utf-8") + self.data[end:]).decode("utf-8")

    # sites ---------------------------------------------------------------------
    def _text(self, node: Any) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def _add(self, kind: str, node: Any, new_text: str, description: str, *, span: tuple[int, int] | None = None,
             key: str = "", value: float | None = None) -> None:
        line = node.start_point[0] + 1
        if (line, description) in self._seen:
            return
        self._seen.add((line, description))
        self.sites.append(Site(self.path, kind, line, _function(node, self.data), description, node, key=key,
                               value=value, span=span or (node.start_byte, node.end_byte), new_text=new_text))

    def _walk(self, node: Any) -> None:
        kind = node.type
        if kind == "binary_expression" and node.child_count == 3:
            self._binary(node)
        elif kind == "unary_expression" and node.child_count == 2 and node.children[0].type == "!":
            self._add("negation", node, self._text(node.children[1]), f"drop '!' in {self._text(node)!r}")
        elif kind in ("true", "false") or (kind == "boolean_literal" and self._text(node) in ("true", "false")):
            other = "false" if self._text(node) == "true" else "true"
            self._add("negation", node, other, f"{self._text(node)} -> {other}")
        elif kind in _NUMBERS and _PLAIN_NUMBER.fullmatch(self._text(node)):
            self._constant(node)
        for child in node.children:
            self._walk(child)

    def _binary(self, node: Any) -> None:
        left, op_node, right = node.children
        op = self._text(op_node)
        whole = self._text(node)
        for new in _SWAPS.get(op, ()):
            kind = "relational" if op in _RELATIONAL else "arithmetic"
            self._add(kind, op_node, new, f"{whole!r}: {op} -> {new}")
        literal = right.type in _NUMBERS and re.fullmatch(r"\d+", self._text(right))
        if literal and op in ("+", "-"):
            k = int(self._text(right)) * (1 if op == "+" else -1)
            for moved in (k + 1, k - 1):
                shown = self._text(left) if moved == 0 else f"{self._text(left)} {'+' if moved > 0 else '-'} " \
                                                            f"{abs(moved)}"
                self._add("off_by_one", node, shown, f"{whole!r} -> {shown!r}")
        elif literal and op in ("<", "<=", ">", ">="):
            k = int(self._text(right))
            for moved in (k + 1, k - 1):
                if moved >= 0:
                    self._add("off_by_one", right, str(moved), f"{whole!r} -> bound {moved}")

    def _constant(self, node: Any) -> None:
        holder, name = node.parent, None
        negative = holder is not None and holder.type == "unary_expression" and self._text(holder).startswith("-")
        target = holder.parent if negative else holder
        while target is not None and target.type in ("expression_list", "literal_value"):
            target = target.parent
        if target is None or target.type not in _DECLARATIONS:
            return
        named = target.child_by_field_name("name") or target.child_by_field_name("left") or \
            target.child_by_field_name("pattern")
        if named is None:
            named = next((c for c in target.children if c.type in ("identifier", "expression_list")), None)
        if named is None:
            return
        name = self._text(named).split(",")[0].strip()
        value = float(self._text(node)) * (-1 if negative else 1)
        span_node = holder if negative else node
        scope = _function(node, self.data)
        self._add("constant", span_node, "", f"{name} = ...", span=(span_node.start_byte, span_node.end_byte),
                  key=f"{self.path}:{scope}:{name}", value=value)


def _function(node: Any, data: bytes) -> str:
    current = node.parent
    while current is not None:
        if current.type in _FUNCTIONS:
            named = current.child_by_field_name("name")
            if named is not None and (current.type != "variable_declarator" or any(
                    c.type in ("arrow_function", "function_expression", "function") for c in current.children)):
                return data[named.start_byte:named.end_byte].decode("utf-8", "replace")
        current = current.parent
    return ""


def _number_text(value: float, like: str) -> str:
    if "." not in like and "e" not in like.lower() and float(value).is_integer():
        return str(int(value))
    text = repr(float(f"{value:.6g}"))
    return text if "." in text or "e" in text else text + ".0"


def parse_span_module(path: str, source: str) -> SpanModule | None:
    language = language_of(path)
    if language is None:
        return None
    try:
        return SpanModule(path, source, language)
    except (ValueError, UnicodeError):
        return None
