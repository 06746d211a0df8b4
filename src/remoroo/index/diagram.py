"""system_diagram.md: entry points → modules → call paths, drawn from the index alone.

No model writes it. Every node is a real file or ``file:symbol`` of the
index (a test checks each one), entry points are drawn round, and the graph
is capped so a large repository still gives a readable page.
"""

from __future__ import annotations

from remoroo.index.model import RepoIndex

MAX_ENTRIES = 30
MAX_DEPTH = 4
MAX_EDGES = 400


def system_diagram(index: RepoIndex) -> str:
    nodes: dict[str, str] = {}
    edges: dict[tuple[str, str], None] = {}

    def node(label: str) -> str:
        return nodes.setdefault(label, f"n{len(nodes)}")

    def edge(a: str, b: str) -> None:
        if len(edges) < MAX_EDGES:
            edges.setdefault((node(a), node(b)))

    symbols = {(path, s.name): s for path, entry in index.files.items() for s in entry.symbols}
    ranked = sorted(index.entry_points, key=lambda e: e.kind == "test")  # programs before their tests
    entries = list(dict.fromkeys(e.path for e in ranked))[:MAX_ENTRIES]
    for path in entries:
        entry = index.files[path]
        node(path)
        for target in entry.resolved_imports:
            edge(path, target)
        frontier: list[tuple[str, str]] = []
        for target in dict.fromkeys(t for s in entry.symbols for t in s.targets):
            file = target.partition(":")[0]
            if file != path:
                edge(path, file)  # the entry point reaches that module
            frontier.append((file, target))  # ... and calls this symbol in it
        seen: set[str] = set()
        for _depth in range(MAX_DEPTH):
            following: list[tuple[str, str]] = []
            for source, target in frontier:
                edge(source, target)
                if target in seen:
                    continue
                seen.add(target)
                file, _, name = target.partition(":")
                called = symbols.get((file, name))
                following += [(target, t) for t in (called.targets if called else [])]
            frontier = following
    lines = ["# System diagram", "",
             "Generated from the repository index (never by a model); every node is a real file or `file:symbol`. "
             "Round nodes are entry points.", "", "```mermaid", "graph LR"]
    entry_paths = set(entries)
    for label, ident in nodes.items():
        shape = f'{ident}(["{label}"])' if label in entry_paths else f'{ident}["{label}"]'
        lines.append(f"  {shape}")
    lines += [f"  {a} --> {b}" for a, b in edges]
    lines += ["```", ""]
    return "\n".join(lines)
