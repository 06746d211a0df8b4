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
    from remoroo.context import build_slice
    from remoroo.spec import parse_goal

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
