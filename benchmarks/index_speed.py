"""Index a generated 1,000-file Python repository, then re-index it unchanged; both times side by side.

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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, 1000)
        start = time.perf_counter()
        _, _, parsed = write_index(root)
        first = time.perf_counter() - start
        start = time.perf_counter()
        _, _, reparsed = write_index(root)
        again = time.perf_counter() - start
    print(f"index of {parsed} files: {first * 1000:.0f} ms (target < 1000 ms)")
    print(f"re-index with nothing changed ({reparsed} parsed): {again * 1000:.0f} ms (target < 100 ms)")
    print(f"ratio: the re-index costs {again / first:.3f} of a full index")


if __name__ == "__main__":
    main()
