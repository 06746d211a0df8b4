"""Noise-aware acceptance: a no-op on a command whose runtime varies ±40% is never progress."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import cli, edit, git_init, latest_run, write_files

from remoroo.measure.once import Measurement
from remoroo.measure.repeat import combine, repeats_for

NOISY = (
    "import random\nimport time\n\nDELAY = 0.3\nNOISE = 0.4\n\n\n"
    "def work():\n    time.sleep(DELAY * random.uniform(1 - NOISE, 1 + NOISE))\n\n\n"
    "if __name__ == '__main__':\n    work()\n"
)
PLAN = {"commands": [{"name": "work", "run": "python3 work.py"}],
        "instrumentation": [{"metric": "runtime_s", "source": "probe", "probe": "runtime_s", "command": "work"}]}


def run_with(tmp_path: Path, patch: dict, noise: float = 0.4) -> tuple[dict, str]:
    repo = write_files(tmp_path / "noisy", {"work.py": NOISY.replace("NOISE = 0.4", f"NOISE = {noise}")})
    git_init(repo)
    brain = tmp_path / "brain.json"
    brain.write_text(json.dumps({"plans": [PLAN], "patches": [patch]}))
    done = cli("run", str(repo), "--goal", "faster", "--metrics", "runtime_s < baseline runtime_s",
               "--brain", f"scripted:{brain}", "--max-turns", "1")
    run_dir = latest_run(repo)
    return json.loads((run_dir / "final_report.json").read_text()), done.stderr


def test_noisy_no_op_is_not_progress(tmp_path: Path) -> None:
    report, _ = run_with(tmp_path, edit("work.py", "def work():\n", "def work():  # faster now, surely\n"))
    assert report["turns"][0]["decision"] == "REVERTED", report["turns"]
    assert report["outcome"] == "FAIL"
    row = report["metrics"][0]
    assert row["repeats"] >= 6 and row["baseline_spread"] > 0


def test_a_real_speed_up_beyond_the_noise_is_kept(tmp_path: Path) -> None:
    # with +-40% noise only a change beyond three standard deviations counts; a 5% jitter lets a 3x speed-up through
    report, _ = run_with(tmp_path, edit("work.py", "time.sleep(DELAY *", "time.sleep(0.001 *"), noise=0.05)
    assert report["turns"][0]["decision"] == "KEPT" and report["outcome"] == "SUCCESS"
    pinning = json.loads(next(latest_run(tmp_path / "noisy").glob("turns/1/**/pinning.json")).read_text())
    assert pinning["why"] and all(isinstance(c, int) for c in pinning["cpus"])  # pinned or not, the reason is kept


def test_combine_takes_medians_and_spread() -> None:
    runs = [Measurement(metrics={"t": v, "ok": True}) for v in (1.0, 3.0, 2.0, 2.5, 1.5)]
    merged = combine(runs)
    assert merged.metrics == {"t": 2.0, "ok": True} and merged.spread["t"] == 0.5 and merged.repeats == 5
    flaky = combine([Measurement(metrics={"t": 1.0}), Measurement(missing={"t": "crashed"})])
    assert "missing in 1 of 2 repeats" in flaky.missing["t"]
    differs = combine([Measurement(metrics={"mode": "a"}), Measurement(metrics={"mode": "b"})])
    assert "differs between repeats" in differs.missing["mode"]


def test_repeats_are_adaptive() -> None:
    assert repeats_for(["runtime_s"], 0.05, 0) == 9
    assert repeats_for(["runtime_s"], 0.5, 0) == 5
    assert repeats_for(["runtime_s"], 3.0, 0) == 3
    assert repeats_for(["accuracy"], 0.05, 0) == 1
    assert repeats_for(["accuracy"], 0.05, 4) == 4
