"""JavaScript, TypeScript, Go and Rust: symbols, imports and calls through tree-sitter's per-language grammars.

Each grammar is its own wheel (``tree-sitter-javascript``, ``-typescript``,
``-go``, ``-rust``) with the parser compiled in, so nothing is fetched at run time.
A query per language captures definitions (``@function``, ``@class``,
``@method`` and ``@type``, each with a ``.name``), imports (``@import``)
and calls (``@call``). Methods are named ``Class.method``; a call belongs to
the innermost definition around it.
"""

from __future__ import annotations

from functools import cache

import tree_sitter as ts

from remoroo.index.model import FileEntry, Symbol

_JS_COMMON = """
(function_declaration name: (identifier) @function.name) @function
(generator_function_declaration name: (identifier) @function.name) @function
(variable_declarator name: (identifier) @function.name value: [(arrow_function) (function_expression)]) @function
(method_definition name: (property_identifier) @method.name) @method
(import_statement source: (string (string_fragment) @import))
(export_statement source: (string (string_fragment) @import))
(call_expression function: (identifier) @_require arguments: (arguments . (string (string_fragment) @import))
  (#eq? @_require "require"))
(call_expression function: [(identifier) @call (member_expression property: (property_identifier) @call)])
(new_expression constructor: (identifier) @call)
"""
_QUERIES = {
    "javascript": _JS_COMMON + "(class_declaration name: (identifier) @class.name) @class\n",
    "typescript": _JS_COMMON + """
(class_declaration name: (type_identifier) @class.name) @class
(abstract_class_declaration name: (type_identifier) @class.name) @class
(interface_declaration name: (type_identifier) @type.name) @type
(type_alias_declaration name: (type_identifier) @type.name) @type
(function_signature name: (identifier) @function.name) @function
""",
    "rust": """
(function_item name: (identifier) @function.name) @function
(function_signature_item name: (identifier) @function.name) @function
(struct_item name: (type_identifier) @type.name) @type
(enum_item name: (type_identifier) @type.name) @type
(trait_item name: (type_identifier) @type.name) @type
(use_declaration argument: (_) @import)
(mod_item name: (identifier) @module) @mod
(call_expression function: [(identifier) @call (scoped_identifier name: (identifier) @call)
                            (field_expression field: (field_identifier) @call)])
""",
    "go": """
(function_declaration name: (identifier) @function.name) @function
(method_declaration name: (field_identifier) @method.name) @method
(type_spec name: (type_identifier) @type.name) @type
(import_spec path: (interpreted_string_literal (interpreted_string_literal_content) @import))
(call_expression function: [(identifier) @call (selector_expression field: (field_identifier) @call)])
""",
}
_KINDS = ("function", "class", "method", "type")
_PARAMS = {"formal_parameters", "parameter_list"}


@cache
def _grammar(language: str, tsx: bool = False) -> tuple[ts.Parser, ts.Query]:
    if language == "javascript":
        import tree_sitter_javascript

        handle = tree_sitter_javascript.language()
    elif language == "typescript":
        import tree_sitter_typescript

        handle = tree_sitter_typescript.language_tsx() if tsx else tree_sitter_typescript.language_typescript()
    elif language == "go":
        import tree_sitter_go

        handle = tree_sitter_go.language()
    elif language == "rust":
        import tree_sitter_rust

        handle = tree_sitter_rust.language()
    else:
        raise KeyError(language)
    lang = ts.Language(handle)
    return ts.Parser(lang), ts.Query(lang, _QUERIES[language])


def supported(language: str) -> bool:
    return language in _QUERIES


def parse(entry: FileEntry, data: bytes) -> None:
    """Fill ``entry`` with the symbols, imports and calls of a JavaScript, TypeScript or Go file."""
    parser, query = _grammar(entry.language, entry.path.endswith(".tsx"))
    tree = parser.parse(data)
    if tree.root_node.has_error and tree.root_node.child_count == 0:
        entry.parsed = False
        return
    captures = ts.QueryCursor(query).captures(tree.root_node)
    defined: list[tuple[ts.Node, Symbol]] = []
    for kind in _KINDS:
        for node in captures.get(kind, []):
            name_node = node.child_by_field_name("name")
            if name_node is None:
                continue
            name = _text(name_node)
            owner = _owner(node, entry.language)
            symbol_kind = "method" if kind == "method" or (entry.language == "rust" and owner) else kind
            defined.append((node, Symbol(
                name=f"{owner}.{name}" if owner and symbol_kind == "method" else name, kind=symbol_kind,
                line=node.start_point.row + 1, end_line=node.end_point.row + 1, signature=_signature(node))))
    defined.sort(key=lambda pair: (pair[0].start_byte, -pair[0].end_byte))
    module = Symbol(name="<module>", kind="module", line=1, end_line=tree.root_node.end_point.row + 1)
    for node in sorted(captures.get("call", []), key=lambda n: n.start_byte):
        inner = [s for d, s in defined if d.start_byte <= node.start_byte < d.end_byte]
        holder = inner[-1] if inner else module
        name = _text(node)
        if name not in holder.calls:
            holder.calls.append(name)
    imports = [(n.start_byte, _text(n)) for n in captures.get("import", [])]
    imports += [(n.start_byte, f"mod {_text(n)}") for n in captures.get("module", [])]  # Rust `mod x;`
    entry.imports = list(dict.fromkeys(text for _, text in sorted(imports)))
    entry.symbols = [s for _, s in defined] + [module]
    entry.entry_point = entry.entry_point or _is_entry(entry, tree.root_node, data)


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _owner(node: ts.Node, language: str) -> str:
    """The class (JS/TS) or receiver type (Go) a method belongs to."""
    if language == "rust":
        parent = node.parent
        while parent is not None and parent.type not in ("impl_item", "trait_item", "source_file"):
            parent = parent.parent
        target = parent.child_by_field_name("type" if parent.type == "impl_item" else "name") \
            if parent is not None and parent.type != "source_file" else None
        return _text(target).split("<")[0] if target is not None else ""
    if language == "go":
        receiver = node.child_by_field_name("receiver")
        if receiver is not None:
            names = [n for n in _walk(receiver) if n.type == "type_identifier"]
            return _text(names[0]) if names else ""
        return ""
    parent = node.parent
    while parent is not None:
        if parent.type in ("class_declaration", "abstract_class_declaration", "class"):
            name = parent.child_by_field_name("name")
            return _text(name) if name is not None else ""
        parent = parent.parent
    return ""


def _walk(node: ts.Node) -> list[ts.Node]:
    out = [node]
    for child in node.named_children:
        out += _walk(child)
    return out


def _signature(node: ts.Node) -> str:
    target = node
    if node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        target = value if value is not None else node
    params = target.child_by_field_name("parameters")
    if params is not None and params.type in _PARAMS:
        return _text(params)
    return ""


def _is_entry(entry: FileEntry, root: ts.Node, data: bytes) -> bool:
    name = entry.path.rsplit("/", 1)[-1]
    if entry.language == "rust":
        parts = entry.path.split("/")
        return (parts[-1] == "main.rs" and "src" in parts) or (len(parts) >= 2 and parts[-2] == "bin") or (
            len(parts) >= 2 and parts[-2] == "tests")
    if entry.language == "go":
        is_main = any(c.type == "package_clause" and _text(c).split()[-1] == "main" for c in root.named_children)
        return name.endswith("_test.go") or (is_main and any(s.name == "main" for s in entry.symbols))
    stem = name.split(".")[0]
    depth = entry.path.count("/")
    top = depth == 0 or (depth == 1 and entry.path.split("/")[0] in ("src", "bin", "app", "server"))
    return (".test." in name or ".spec." in name or (top and stem in ("main", "index", "cli", "server"))
            or b"require.main === module" in data)
