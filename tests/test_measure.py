from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import write_files

from remoroo.measure.once import Environment, coerce, measure
from remoroo.model.plan import Plan

ENV = Environment(base_env=dict(os.environ), shim_dir=str(Path(__file__).resolve().parents[1] / "src"), grace_s=0.2)


def plan(commands: list[dict], instrumentation: list[dict]) -> Plan:
    return Plan.model_validate({"commands": commands, "instrumentation": instrumentation})


def test_probes_stdout_and_emit(tmp_path: Path) -> None:
    write_files(tmp_path, {"prog.py": (
        "import remoroo\nprint('noise 99')\nprint('acc=0.5')\nprint('acc=0.75')\n"
        "remoroo.emit('loss', 0.25 * 2)\n")})
    p = plan([{"name": "main", "run": "python3 prog.py"}, {"name": "fails", "run": "exit 3"}], [
        {"metric": "acc", "source": "stdout", "command": "main", "pattern": r"acc=([0-9.]+)"},
        {"metric": "loss", "source": "emit", "command": "main"},
        {"metric": "runtime_s", "source": "probe", "probe": "runtime_s", "command": "main"},
        {"metric": "exit_code", "source": "probe", "probe": "exit_code"},
        {"metric": "code_runs", "source": "probe", "probe": "code_runs"},
    ])
    m = measure(p, ["acc", "loss", "runtime_s", "exit_code", "code_runs"], tmp_path, tmp_path / "logs",
                ENV, time.monotonic() + 30)
    assert m.metrics["acc"] == 0.75  # the last match counts
    assert m.metrics["loss"] == 0.5
    assert 0 < m.metrics["runtime_s"] < 10
    assert m.metrics["exit_code"] == 3 and m.metrics["code_runs"] is False
    assert not m.code_runs


def test_stale_artifact_never_counts(tmp_path: Path) -> None:
    write_files(tmp_path, {"out/metrics.json": json.dumps({"eval": {"accuracy": 0.99}})})
    p = plan([{"name": "main", "run": "true"}],
             [{"metric": "accuracy", "source": "json_artifact", "path": "out/metrics.json", "key": "eval.accuracy"}])
    m = measure(p, ["accuracy"], tmp_path, tmp_path / "logs", ENV, time.monotonic() + 30)
    assert "accuracy" not in m.metrics
    assert "did not write" in m.missing["accuracy"]
    assert any("existed before the run" in f for f in m.flags)


def test_fresh_artifact_is_read(tmp_path: Path) -> None:
    write = "import json; json.dump({'eval': {'accuracy': 0.9, 'scores': [1, 2]}}, open('m.json', 'w'))"
    write_files(tmp_path, {"w.py": write})
    p = plan([{"name": "main", "run": "python3 w.py"}], [
        {"metric": "accuracy", "source": "json_artifact", "path": "m.json", "key": "eval.accuracy"},
        {"metric": "second", "source": "json_artifact", "path": "m.json", "key": "eval.scores.1"},
        {"metric": "nokey", "source": "json_artifact", "path": "m.json", "key": "eval.f1"},
    ])
    m = measure(p, ["accuracy", "second", "nokey"], tmp_path, tmp_path / "logs", ENV, time.monotonic() + 30)
    assert (m.metrics["accuracy"], m.metrics["second"]) == (0.9, 2)
    assert "no key" in m.missing["nokey"]


def test_emit_from_an_old_run_does_not_count(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "main.emit.ndjson").write_text(json.dumps({"name": "loss", "value": 0.0, "nonce": "old"}) + "\n")
    p = plan([{"name": "main", "run": "true"}], [{"metric": "loss", "source": "emit", "command": "main"}])
    m = measure(p, ["loss"], tmp_path, logs, ENV, time.monotonic() + 30)
    assert "loss" not in m.metrics and "nothing called remoroo.emit" in m.missing["loss"]


def test_exhausted_deadline_skips_commands(tmp_path: Path) -> None:
    p = plan([{"name": "main", "run": "true"}], [{"metric": "code_runs", "source": "probe", "probe": "code_runs"}])
    m = measure(p, ["code_runs"], tmp_path, tmp_path / "logs", ENV, time.monotonic() - 1)
    assert m.commands[0].skipped and m.metrics["code_runs"] is False


@pytest.mark.parametrize(("text", "value"), [("55", 55), ("0.5", 0.5), ("true", True), ("abc", "abc"),
                                             ("1e-3", 0.001)])
def test_coerce(text: str, value: object) -> None:
    assert coerce(text) == value and type(coerce(text)) is type(value)


def test_copied_artifact_is_ignored_and_flagged(tmp_path: Path) -> None:
    write_files(tmp_path, {"cache/old.json": '{"acc": 0.99}', "run.sh": "cp cache/old.json out.json\n"})
    p = plan([{"name": "main", "run": "sh run.sh"}],
             [{"metric": "acc", "source": "json_artifact", "path": "out.json", "key": "acc"}])
    m = measure(p, ["acc"], tmp_path, tmp_path / "logs", ENV, time.monotonic() + 30)
    assert "acc" not in m.metrics and "copy of cache/old.json" in m.missing["acc"]
    assert any("copy of" in f for f in m.flags)
