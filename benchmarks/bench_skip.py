"""How long an incremental pass takes over 50 finished cases, side by side with running one case.

Run: .venv/bin/python benchmarks/bench_skip.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from remoroo.bench import BenchOptions, discover, run_suite

ROOT = Path(__file__).resolve().parents[1]
REPORT = "# remoroo run x\n\n## Outcome: SUCCESS\n\n**Reason:** all 1 target(s) met\n"


def make_suite(root: Path, count: int) -> None:
    for i in range(count):
        case = root / f"category_{i % 3}" / f"case_{i:02d}"
        run = case / "repo" / ".remoroo" / "runs" / f"20260101-000000{i:03d}-abcdef"
        run.mkdir(parents=True)
        (run / "final_report.md").write_text(REPORT)
        (run / "final_report.json").write_text(json.dumps({"turns": [{}], "duration_s": 1.0, "reason": "ok"}))
        (case / "repo" / "main.py").write_text("print('fib_10=55')\n")
        (case / "case.json").write_text(json.dumps({
            "case_id": f"case_{i:02d}", "repo_path": "repo", "goal": "g", "metrics": "fib_10 == 55",
            "expected_outcome": "success"}))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite"
        make_suite(suite, 50)
        start = time.perf_counter()
        results = list(run_suite(discover(suite), BenchOptions()))
        skip_s = time.perf_counter() - start
        assert len(results) == 50 and all(r.status == "skipped" for r in results)

        one = Path(tmp) / "one"
        shutil.copytree(ROOT / "examples" / "fib_fix", one, ignore=shutil.ignore_patterns(".remoroo"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "remoroo.cli", "run", "--case", str(one / "case.json"), "--yes"],
                       check=True, capture_output=True)
        run_s = time.perf_counter() - start
    print(f"skip pass over 50 finished cases: {skip_s:.3f}s ({1000 * skip_s / 50:.2f} ms per case)")
    print(f"one real case run (fib_fix, search brain): {run_s:.3f}s")
    print(f"ratio: the whole 50-case skip pass costs {skip_s / run_s:.3f} of one case run")


if __name__ == "__main__":
    main()
