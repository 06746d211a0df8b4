"""Index generated 1,000-file repositories (Python; TypeScript), then re-index them unchanged; side by side.

Run: .venv/bin/python benchmarks/index_speed.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_index import generate  # noqa: E402

from remoroo.index import write_index  # noqa: E402


def generate_typescript(root: Path, count: int) -> None:
    """``count`` TypeScript modules in folders, chained by relative imports and calls."""
    for i in range(count):
        folder = root / "src" / f"pkg{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        prev = f"import {{ f{i - 1} }} from '../pkg{(i - 1) % 20}/mod{i - 1}';\n" if i else ""
        body = f"return f{i - 1}(x) + 1;" if i else "return x;"
        (folder / f"mod{i}.ts").write_text(
            f"{prev}\nexport function f{i}(x: number): number {{ {body} }}\n\n"
            f"export class C{i} {{\n  m(): number {{ return f{i}(1); }}\n}}\n")


def measure(label: str, make) -> None:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make(root, 1000)
        start = time.perf_counter()
        _, _, parsed = write_index(root)
        first = time.perf_counter() - start
        start = time.perf_counter()
        _, _, reparsed = write_index(root)
        again = time.perf_counter() - start
    print(f"{label}: index of {parsed} files: {first * 1000:.0f} ms (target < 1000 ms); "
          f"re-index with nothing changed ({reparsed} parsed): {again * 1000:.0f} ms (target < 100 ms); "
          f"ratio {again / first:.3f}")


def main() -> None:
    measure("python", generate)
    measure("typescript", generate_typescript)


if __name__ == "__main__":
    main()
