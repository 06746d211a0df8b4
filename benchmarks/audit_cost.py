"""The audit's cost per candidate on a 1,000-file repository, side by side with the candidate's measurement.

Both are measured in this one run: the pre-measurement audit exactly as the loop calls it
(``loop/observe.audit_change``: reading the changed files from git, the trust boundary, the metric's own code,
the semantic checks), the post-measurement checks (``measured_findings``: output, inputs, emission sites), and
one sandboxed measurement of a command that works for about a second. Target: the audit under 5% of it.

Run: .venv/bin/python benchmarks/audit_cost.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from remoroo.exec import sandbox as sb
from remoroo.exec.workspace import Workspace
from remoroo.loop.observe import audit_change, measured_findings
from remoroo.loop.state import Setup
from remoroo.measure.commands import Environment
from remoroo.measure.once import measure
from remoroo.measure.shim import write_shim
from remoroo.model.config import RunConfig
from remoroo.model.plan import Plan
from remoroo.model.spec import parse_goal

FILES = 1000
WORK = "def work(n):\n    total = 0\n    for i in range(n):\n        total += i * i\n    return total\n"
MAIN = ("import time\nfrom pkg.core import work\n\nstart = time.perf_counter()\nresult = work(N)\n"
        "print(f'result={result}')\nprint(f'elapsed_s={time.perf_counter() - start:.3f}')\n")


def make_repo(root: Path, n: int) -> Path:
    repo = root / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "core.py").write_text(WORK)
    for i in range(FILES - 3):
        folder = repo / "pkg" / f"mod{i // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n\n\nclass C{i}:\n    value = {i}\n")
    (repo / "main.py").write_text(MAIN.replace("N)", f"{n})"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = make_repo(root, 12_000_000)
        ws = Workspace.snapshot(repo, root / "work")
        plan = Plan.model_validate({
            "commands": [{"name": "main", "run": "python3 main.py"}],
            "instrumentation": [{"metric": "runtime_s", "source": "probe", "probe": "runtime_s", "command": "main"}],
            "patch_intents": [{"description": "speed up work", "files": ["pkg/core.py", "pkg/mod0/m0.py"]}]})
        goal = parse_goal("faster", "runtime_s < 0.5 * baseline runtime_s")
        env = Environment(base_env=dict(os.environ), shim_dir=str(write_shim(root / "shim")),
                          sandbox=sb.Sandbox(hidden=[str(root / "runs")]))
        started = time.perf_counter()
        baseline = measure(plan, ["runtime_s"], ws.root, root / "runs" / "logs0", env, time.monotonic() + 120)
        measure_s = time.perf_counter() - started
        setup = Setup(plan=plan, goal=goal, baseline=baseline)
        base = ws.head()
        (ws.root / "pkg" / "core.py").write_text("def work(n):\n    return (n - 1) * n * (2 * n - 1) // 6\n")
        (ws.root / "pkg" / "mod0" / "m0.py").write_text("def f0(x):\n    return x\n")
        (ws.root / "pkg" / "helper.py").write_text("SCALE = 1\n")
        candidate = ws.commit("candidate")
        files = ws.changed_files(base, candidate)
        ctx = SimpleNamespace(workspace=ws, config=RunConfig(repo=repo, goal="g", metrics="runtime_s < 1"))
        before_s, after_s = [], []
        verdict = None
        for _ in range(20):
            t0 = time.perf_counter()
            verdict = audit_change(ctx, setup, base, candidate, files)  # type: ignore[arg-type]
            t1 = time.perf_counter()
            measured_findings(ctx, setup, baseline)  # type: ignore[arg-type]
            t2 = time.perf_counter()
            before_s.append(t1 - t0)
            after_s.append(t2 - t1)
        assert verdict is not None and verdict.passed, verdict
        audit_s = statistics.median(before_s) + statistics.median(after_s)
        print(f"repository: {FILES} files; candidate changes {len(files)}")
        print(f"audit before measuring: {statistics.median(before_s) * 1000:8.1f} ms (median of 20)")
        print(f"audit after measuring:  {statistics.median(after_s) * 1000:8.1f} ms")
        print(f"one sandboxed measurement: {measure_s:6.3f} s")
        print(f"audit / measurement: {audit_s / measure_s:.1%} (target: under 5% of a 1 s measurement)")


if __name__ == "__main__":
    main()
