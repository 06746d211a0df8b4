"""The repository index: symbols, imports, entry points, calls; incremental; a diagram of real nodes."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import cli, write_files

from remoroo.index import build_index, load_index, system_diagram, write_index


def generate(root: Path, count: int) -> None:
    """A synthetic Python repository: ``count`` modules in packages, chained by imports and calls."""
    for i in range(count):
        package = root / f"pkg{i % 20}"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        prev = f"from pkg{(i - 1) % 20}.mod{i - 1} import f{i - 1}\n" if i else ""
        body = f"    return f{i - 1}(x) + 1\n" if i else "    return x\n"
        (package / f"mod{i}.py").write_text(f"{prev}\n\ndef f{i}(x):\n{body}\n\nclass C{i}:\n    def m(self):\n"
                                            f"        return f{i}(1)\n")
    (root / "main.py").write_text(f"from pkg{(count - 1) % 20}.mod{count - 1} import f{count - 1}\n\n"
                                  f"if __name__ == '__main__':\n    print(f{count - 1}(0))\n")


def test_python_symbols_imports_entry_points_and_calls(tmp_path: Path) -> None:
    generate(tmp_path, 5)
    write_files(tmp_path, {".venv/pyvenv.cfg": "", ".venv/lib/x.py": "x = 1\n", "node_modules/a.js": "",
                           "data.bin": "\0\0", "notes.md": "# notes\n"})
    index = build_index(tmp_path)
    assert ".venv/lib/x.py" not in index.files and "node_modules/a.js" not in index.files
    assert "data.bin" not in index.files and index.files["notes.md"].language == "markdown"
    mod = index.files["pkg2/mod2.py"]
    assert [(s.name, s.kind, s.line) for s in mod.symbols if s.kind != "module"] == [
        ("f2", "function", 4), ("C2", "class", 8), ("C2.m", "method", 9)]
    assert mod.imports == ["pkg1.mod1"] and "f1" in mod.symbols[0].calls and mod.symbols[0].signature == "(x)"
    assert index.files["main.py"].entry_point and not mod.entry_point


def test_reindex_reads_only_changed_files(tmp_path: Path) -> None:
    generate(tmp_path, 1000)
    _, _, first = write_index(tmp_path)
    assert first == 1000 + 20 + 1
    _, _, again = write_index(tmp_path)
    assert again == 0
    (tmp_path / "pkg3" / "mod3.py").write_text("def g():\n    return 3\n")
    _, _, changed = write_index(tmp_path)
    assert changed == 1
    index = load_index(tmp_path / ".remoroo" / "repo_index.json")
    assert index is not None and [s.name for s in index.files["pkg3/mod3.py"].symbols] == ["g", "<module>"]


def test_every_diagram_node_is_a_real_file_or_symbol(tmp_path: Path) -> None:
    generate(tmp_path, 30)
    index = build_index(tmp_path)
    diagram = system_diagram(index)
    labels = re.findall(r'\["([^"]+)"\]', diagram)
    assert labels and "main.py" in labels
    for label in labels:
        path, _, symbol = label.partition(":")
        assert path in index.files, label
        if symbol:
            assert symbol in {s.name for s in index.files[path].symbols}, label
    assert re.search(r'\(\["main.py"\]\)', diagram)  # entry points are drawn round


def test_index_command(tmp_path: Path) -> None:
    generate(tmp_path, 3)
    done = cli("index", str(tmp_path))
    assert done.returncode == 0 and "repo_index.json" in done.stdout
    assert (tmp_path / ".remoroo" / "system_diagram.md").read_text().startswith("# System diagram")
    assert cli("index", str(tmp_path / "missing")).returncode == 2


def _deep_repo(root: Path) -> None:
    filler = "# filler\n" + "x = 1\n" * 600
    for i in range(40):
        write_files(root, {f"noise/mod{i}.py": filler})
    write_files(root, {
        "main.py": "from zz.b.c.d.e.f.deep import compute_accuracy\n\nprint(f'accuracy={compute_accuracy()}')\n",
        "zz/b/c/d/e/f/deep.py": filler + "\n\ndef compute_accuracy():\n    return helper_x()\n\n\ndef helper_x():\n"
                               "    return 0.5\n",
    })


def test_a_function_six_levels_deep_is_in_the_slice(tmp_path: Path) -> None:
    from remoroo.index.slice import build_slice
    from remoroo.model.spec import parse_goal

    _deep_repo(tmp_path)
    goal = parse_goal("raise it", "accuracy >= 0.9")
    shown = {v.path for v in build_slice(tmp_path, goal, 8000).files if v.content is not None}
    assert "zz/b/c/d/e/f/deep.py" in shown  # its symbol matches the metric
    neutral = parse_goal("make it better", "score >= 1")
    without = {v.path for v in build_slice(tmp_path, neutral, 8000).files if v.content is not None}
    assert "zz/b/c/d/e/f/deep.py" not in without
    with_frames = build_slice(tmp_path, neutral, 8000, frames=["zz/b/c/d/e/f/deep.py"])
    assert "zz/b/c/d/e/f/deep.py" in {v.path for v in with_frames.files if v.content is not None}
    assert "zz/b/c/d/e/f/deep.py" not in with_frames.omitted and with_frames.omitted  # the rest says what is left out


POLYGLOT = {
    "pyproject.toml": '[project]\nname = "tool"\n[project.scripts]\ntool = "tool.cli:main"\n',
    "src/tool/__init__.py": "",
    "src/tool/cli.py": "from .core import run\n\n\ndef main():\n    return run(3)\n",
    "src/tool/core.py": "def run(n):\n    return helper(n)\n\n\ndef helper(n):\n    return n\n",
    "web/package.json": '{"name": "web", "main": "src/index.ts", "bin": {"webtool": "bin/cli.js"}}',
    "web/src/index.ts": (
        "import { score } from './metrics';\nimport express from 'express';\n"
        "export class Server<T> {\n  handle(req: T): number { return score(req) + this.tick(); }\n"
        "  tick(): number { return 1; }\n}\n"
        "interface Options { port: number }\nexport const start = async (o: Options) => new Server();\n"),
    "web/src/metrics.ts": "export function score(x: unknown): number {\n  return latency(x);\n}\n"
                          "function latency(x: unknown): number { return 2; }\n",
    "web/bin/cli.js": "const lib = require('../lib/util');\nfunction main() { lib.run(); }\n"
                      "if (require.main === module) { main(); }\n",
    "web/lib/util.js": "function run() { return 1; }\nmodule.exports = { run };\n",
    "web/src/metrics.test.ts": "import { score } from './metrics';\ntest('s', () => expect(score(1)).toBe(2));\n",
    "web/package-lock.json": "{}",
    "svc/go.mod": "module example.com/svc\n\ngo 1.22\n",
    "svc/main.go": ('package main\n\nimport (\n\t"fmt"\n\t"example.com/svc/stats"\n)\n\n'
                    "func main() { fmt.Println(stats.Mean([]float64{1, 2})) }\n"),
    "svc/stats/stats.go": ("package stats\n\ntype Acc struct{ n int }\n\n"
                           "func (a *Acc) Add(x float64) { a.n++ }\n\n"
                           "func Mean(xs []float64) float64 { return sum(xs) / float64(len(xs)) }\n"),
    "svc/stats/sum.go": "package stats\n\nfunc sum(xs []float64) float64 { return 0 }\n",
    "svc/stats/stats_test.go": "package stats\n\nimport \"testing\"\n\nfunc TestMean(t *testing.T) { Mean(nil) }\n",
    "build/gen.py": "x = 1\n", "dist/out.js": "var a;\n", "tool.egg-info/PKG-INFO": "x\n", "data/train.csv": "a,b\n",
}


def test_javascript_typescript_and_go_through_tree_sitter(tmp_path: Path) -> None:
    write_files(tmp_path, POLYGLOT)
    index = build_index(tmp_path)
    for skipped in ("build/gen.py", "dist/out.js", "tool.egg-info/PKG-INFO", "data/train.csv",
                    "web/package-lock.json"):
        assert skipped not in index.files, skipped
    ts = index.files["web/src/index.ts"]
    assert ts.language == "typescript" and ts.imports == ["./metrics", "express"]
    assert ts.resolved_imports == ["web/src/metrics.ts"]
    kinds = {s.name: (s.kind, s.line) for s in ts.symbols}
    assert kinds["Server"] == ("class", 3) and kinds["Server.handle"] == ("method", 4)
    assert kinds["Options"][0] == "type" and kinds["start"][0] == "function"
    handle = next(s for s in ts.symbols if s.name == "Server.handle")
    assert handle.signature == "(req: T)" and handle.calls == ["score", "tick"]
    assert handle.targets == ["web/src/metrics.ts:score", "web/src/index.ts:Server.tick"]
    metrics = index.files["web/src/metrics.ts"]
    assert next(s for s in metrics.symbols if s.name == "score").targets == ["web/src/metrics.ts:latency"]
    js = index.files["web/bin/cli.js"]
    assert js.language == "javascript" and js.imports == ["../lib/util"] and js.resolved_imports == ["web/lib/util.js"]
    assert next(s for s in js.symbols if s.name == "main").targets == ["web/lib/util.js:run"]
    go = index.files["svc/main.go"]
    assert go.language == "go" and go.imports == ["fmt", "example.com/svc/stats"]
    assert set(go.resolved_imports) == {"svc/stats/stats.go", "svc/stats/sum.go"}
    assert next(s for s in go.symbols if s.name == "main").targets == ["svc/stats/stats.go:Mean"]
    stats = {s.name: s for s in index.files["svc/stats/stats.go"].symbols}
    assert stats["Acc"].kind == "type" and stats["Acc.Add"].kind == "method"
    assert stats["Mean"].targets == ["svc/stats/sum.go:sum"]  # same package, another file
    points = {(e.path, e.kind) for e in index.entry_points}
    assert {("svc/main.go", "go_main"), ("svc/stats/stats_test.go", "test"), ("web/src/metrics.test.ts", "test"),
            ("web/bin/cli.js", "script"), ("web/bin/cli.js", "package_json"), ("web/src/index.ts", "package_json"),
            ("src/tool/cli.py", "console_script")} <= points
    script = next(e for e in index.entry_points if e.kind == "console_script")
    assert script.symbol == "main" and "[project.scripts] tool" in script.evidence
    cli_main = next(s for s in index.files["src/tool/cli.py"].symbols if s.name == "main")
    assert cli_main.targets == ["src/tool/core.py:run"]  # relative import inside a src/ layout


def test_polyglot_diagram_nodes_are_real(tmp_path: Path) -> None:
    write_files(tmp_path, POLYGLOT)
    index = build_index(tmp_path)
    diagram = system_diagram(index)
    labels = re.findall(r'\["([^"]+)"\]', diagram)
    for label in labels:
        path, _, symbol = label.partition(":")
        assert path in index.files, label
        if symbol:
            assert symbol in {s.name for s in index.files[path].symbols}, label
    for expected in ("svc/main.go", "svc/stats/stats.go:Mean", "svc/stats/sum.go:sum", "web/src/metrics.ts:latency",
                     "src/tool/core.py:helper"):
        assert expected in labels, expected  # call paths are followed past the first hop


def test_touched_but_unchanged_files_are_not_parsed_again(tmp_path: Path) -> None:
    import os

    write_files(tmp_path, POLYGLOT)
    first = build_index(tmp_path)
    target = tmp_path / "svc" / "main.go"
    os.utime(target, ns=(1, 1))
    again = build_index(tmp_path, first)
    assert again.files["svc/main.go"].mtime_ns == 1 and again.files["svc/main.go"].symbols == first.files[
        "svc/main.go"].symbols
    assert again.files["web/src/index.ts"] is first.files["web/src/index.ts"]


def test_a_hot_symbol_of_a_file_too_big_to_show_is_excerpted(tmp_path: Path) -> None:
    from remoroo.index.slice import build_slice
    from remoroo.model.spec import parse_goal

    filler = "".join(f"def pad{i}(x):\n    return x + {i}\n\n\n" for i in range(2500))  # ~70 kB: never whole
    write_files(tmp_path, {
        "main.py": "from zz.b.c.d.e.f.big import compute_accuracy\n\nprint(f'accuracy={compute_accuracy()}')\n",
        "zz/b/c/d/e/f/big.py": filler + "def compute_accuracy():\n    return crash_here()\n\n\n"
                                        "def crash_here():\n    return 1 / 0\n",
    })
    lines = (tmp_path / "zz/b/c/d/e/f/big.py").read_text().splitlines()
    crash_line = lines.index("    return 1 / 0") + 1
    view = {v.path: v for v in build_slice(tmp_path, parse_goal("g", "accuracy >= 0.9"), 6000).files}
    big = view["zz/b/c/d/e/f/big.py"]
    assert big.content is None and [e.symbol for e in big.excerpts] == ["compute_accuracy"]
    assert big.excerpts[0].text.startswith("def compute_accuracy():") and big.excerpts[0].start_line == crash_line - 5
    neutral = parse_goal("g", "score >= 1")
    framed = {v.path: v for v in build_slice(tmp_path, neutral, 6000,
                                             frames=[f"zz/b/c/d/e/f/big.py:{crash_line}"]).files}
    assert [e.symbol for e in framed["zz/b/c/d/e/f/big.py"].excerpts] == ["crash_here"]
    plain = {v.path: v for v in build_slice(tmp_path, neutral, 6000).files}
    assert plain["zz/b/c/d/e/f/big.py"].excerpts == []
    assert plain["zz/b/c/d/e/f/big.py"].outline[:2] == ["1-2 function pad0(x)", "5-6 function pad1(x)"]


def test_slice_of_a_typescript_repo_follows_metric_words(tmp_path: Path) -> None:
    from remoroo.index.slice import build_slice
    from remoroo.model.spec import parse_goal

    write_files(tmp_path, POLYGLOT)
    filler = "// filler\n" + "export const x = 1;\n" * 10
    write_files(tmp_path, {f"web/src/aa{i}.ts": filler for i in range(40)})
    shown = {v.path for v in build_slice(tmp_path, parse_goal("g", "latency_ms <= 1"), 4000).files
             if v.content is not None}
    assert "web/src/metrics.ts" in shown  # `latency` is defined there; the unit suffix is not a word
    neutral = {v.path for v in build_slice(tmp_path, parse_goal("g", "throughput >= 1"), 4000).files
               if v.content is not None}
    assert "web/src/metrics.ts" not in neutral and "web/src/aa0.ts" in neutral
    assert "build/gen.py" not in neutral and "dist/out.js" not in neutral  # build output is never shown


def test_entry_points_are_programs_not_every_index_file(tmp_path: Path) -> None:
    write_files(tmp_path, {"src/index.ts": "export const a = 1;\n", "src/components/index.ts": "export {};\n",
                           "lib/deep/cli.js": "module.exports = {};\n",
                           "tools/run.js": "if (require.main === module) { run(); }\nfunction run() {}\n"})
    points = {e.path for e in build_index(tmp_path).entry_points}
    assert points == {"src/index.ts", "tools/run.js"}
    for i in range(40):
        write_files(tmp_path, {f"tests/test_{i:02d}.py": "def test():\n    pass\n"})
    write_files(tmp_path, {"zz_main.py": "if __name__ == '__main__':\n    pass\n"})
    assert '(["zz_main.py"])' in system_diagram(build_index(tmp_path))  # programs are drawn before tests


RUST = {
    "crate/Cargo.toml": '[package]\nname = "calc"\nversion = "0.1.0"\n',
    "crate/src/main.rs": ("use crate::stats::mean;\nuse std::collections::HashMap;\nmod stats;\n\n"
                          "fn main() {\n    let a = stats::Acc { n: 0 };\n    let m = mean(&[1.0]) + helper();\n"
                          "    println!(\"{}\", m);\n    a.total();\n}\n\nfn helper() -> f64 { 1.0 }\n"),
    "crate/src/stats.rs": ("pub struct Acc { pub n: u32 }\npub trait Sum { fn total(&self) -> u32; }\n"
                           "impl Acc {\n    pub fn add(&mut self) { self.n += bump(); }\n}\n"
                           "impl Sum for Acc {\n    fn total(&self) -> u32 { self.n }\n}\n"
                           "pub fn mean(xs: &[f64]) -> f64 { xs.iter().sum::<f64>() }\nfn bump() -> u32 { 1 }\n"),
    "crate/src/bin/tool.rs": "fn main() {}\n",
    "crate/tests/it.rs": "#[test]\nfn works() { assert!(true); }\n",
}


def test_rust_through_tree_sitter(tmp_path: Path) -> None:
    from remoroo.index.discovery import discover_commands

    write_files(tmp_path, RUST)
    index = build_index(tmp_path)
    main = index.files["crate/src/main.rs"]
    assert main.language == "rust" and main.imports == ["crate::stats::mean", "std::collections::HashMap",
                                                        "mod stats"]
    assert main.resolved_imports == ["crate/src/stats.rs"]
    assert next(s for s in main.symbols if s.name == "main").targets == ["crate/src/stats.rs:mean",
                                                                         "crate/src/main.rs:helper",
                                                                         "crate/src/stats.rs:Sum.total"]
    kinds = {s.name: s.kind for s in index.files["crate/src/stats.rs"].symbols}
    assert kinds == {"Acc": "type", "Sum": "type", "Sum.total": "method", "Acc.add": "method",
                     "Acc.total": "method", "mean": "function", "bump": "function", "<module>": "module"}
    points = {(e.path, e.kind) for e in index.entry_points}
    assert {("crate/src/main.rs", "cargo_bin"), ("crate/src/bin/tool.rs", "cargo_bin"),
            ("crate/tests/it.rs", "test")} <= points
    runs = {(c.run, c.cwd, c.source) for c in discover_commands(tmp_path, index)}
    assert {("cargo run", "crate", "cargo"), ("cargo run --bin tool", "crate", "cargo"),
            ("cargo test", "crate", "tests")} <= runs
    diagram = system_diagram(index)
    assert '"crate/src/stats.rs:mean"' in diagram and '(["crate/src/main.rs"])' in diagram
