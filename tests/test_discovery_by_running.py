"""Finding metrics by running: labelled numbers in output and artifacts, names as programs spell them, targets
stated in the goal's words, and the search brain's plan from a scouting run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from remoroo.brain.search import SearchBrain
from remoroo.brain.search.observed import from_scouting, resolve_semantic
from remoroo.measure.harvest import from_file, from_text, read_structured
from remoroo.model.goal_text import stated_targets
from remoroo.model.names import best_label, match
from remoroo.model.spec import parse_clause
from remoroo.protocol.wire import (
    CommandCandidate,
    ContextSlice,
    FileView,
    GoalView,
    ObservedValue,
    PlanRequest,
    Scouted,
    StatedTarget,
)

OUTPUT = """\
epoch 1 loss=0.50 acc=0.70
epoch 2 loss=0.31 acc=0.82
Accuracy: 0.91
latency (ms): 12.5
Time taken: 1.23s
Final F1 score = 0.77
{"precision": 0.5, "eval": {"recall": 0.25}}
see http://localhost:8000/x
"""


def test_labelled_numbers_in_output_last_value_wins() -> None:
    found = {f.label: (f.value, f.unit) for f in from_text(OUTPUT, "stdout")}
    assert found["loss"] == (0.31, None) and found["acc"] == (0.82, None)
    assert found["Accuracy"] == (0.91, None) and found["latency (ms)"] == (12.5, None)
    assert found["Time taken"] == (1.23, "s") and found["Final F1 score"] == (0.77, None)
    assert found["precision"] == (0.5, None) and found["eval.recall"] == (0.25, None)
    assert "localhost" not in found and "http" not in " ".join(found)


def test_artifacts_json_yaml_csv_and_junit(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"summary": {"f1": 0.8, "history": [{"loss": 0.9}, {"loss": 0.2}]}}')
    (tmp_path / "m.yaml").write_text("evaluation:\n  matches: 4\n  ok: true\n")
    (tmp_path / "log.csv").write_text("epoch,loss,name\n1,0.5,a\n2,0.25,b\n")
    (tmp_path / "r.xml").write_text('<testsuite><testcase classname="t" name="a"/><testcase classname="t" name="b">'
                                    '<failure/></testcase></testsuite>')
    keys = {(f.path, f.key): f.value for name in ("m.json", "m.yaml", "log.csv", "r.xml")
            for f in from_file(tmp_path / name, name)}
    assert keys[("m.json", "summary.f1")] == 0.8 and keys[("m.json", "summary.history.1.loss")] == 0.2
    assert keys[("m.yaml", "evaluation.matches")] == 4 and keys[("m.yaml", "evaluation.ok")] is True
    assert keys[("log.csv", "loss")] == 0.25 and ("log.csv", "name") not in keys
    assert keys[("r.xml", "tests_passed")] == 1 and keys[("r.xml", "tests_failed")] == 1
    assert read_structured(tmp_path / "log.csv", "log.csv") == {"epoch": 2, "loss": 0.25}
    with pytest.raises(LookupError, match="not valid JSON"):
        (tmp_path / "bad.json").write_text("{")
        read_structured(tmp_path / "bad.json", "bad.json")


@pytest.mark.parametrize(("metric", "label", "matches"), [
    ("accuracy", "acc", True), ("accuracy", "Accuracy", True), ("accuracy", "val_accuracy", True),
    ("accuracy", "test acc", True), ("latency_ms", "latency (ms)", True), ("latency_ms", "latency", True),
    ("latency_ms", "latency_s", False), ("f1", "F1 score", True), ("accuracy", "precision", False),
    ("runtime_s", "elapsed", True), ("loss", "lossy", False), ("tests_passed", "passed", True),
])
def test_metric_names_as_programs_spell_them(metric: str, label: str, matches: bool) -> None:
    assert (match(metric, label) >= 0.6) is matches


def test_the_exact_name_beats_an_alias_and_a_prefixed_one() -> None:
    assert best_label("accuracy", ["train_acc", "val_accuracy", "acc", "accuracy"]) == "accuracy"
    assert best_label("accuracy", ["train_acc", "val_accuracy"]) == "val_accuracy"
    assert best_label("accuracy", ["loss"]) is None


@pytest.mark.parametrize(("goal", "clauses"), [
    ("run in under 0.5s and use less than 10MB of memory", ["runtime_s < 0.5s", "peak_memory_mb < 10MB"]),
    ("Make the model reach an accuracy of at least 92%", ["accuracy >= 0.92"]),
    ("the loss should be below 0.01", ["loss < 0.01"]),
    ("latency must be under 100 ms", ["latency_ms < 100ms"]),
    ("make it 2x faster", ["runtime_s <= 0.5 * baseline runtime_s"]),
    ("reduce runtime by 40%", ["runtime_s <= 0.6 * baseline runtime_s"]),
    ("keep coverage at least 80%", ["coverage >= 80"]),
    ("fix the bug in main", []),
    ("the 3 tests in 2 files", []),
])
def test_targets_stated_in_words(goal: str, clauses: list[str]) -> None:
    found = [s.clause for s in stated_targets(goal)]
    assert found == clauses
    for clause in found:
        parse_clause(clause)  # every one is a clause of the spec grammar


def test_semantic_clauses_resolve_to_the_targets_the_words_state() -> None:
    goal = GoalView(text="g", spec="no metric", targets=[], semantic=["no metric"], stated=[
        StatedTarget(phrase="under 0.5s", spec="runtime_s < 0.5s"),
        StatedTarget(phrase="less than 10MB", spec="peak_memory_mb < 10MB")])
    resolved, unmeasurable = resolve_semantic(goal, [])
    assert [(r.clause, r.spec) for r in resolved] == [("no metric", "runtime_s < 0.5s, peak_memory_mb < 10MB")]
    assert unmeasurable == []
    two = goal.model_copy(update={"semantic": ["uses little memory", "is quick", "reads well"]})
    resolved, unmeasurable = resolve_semantic(two, [])
    assert {r.clause: r.spec for r in resolved} == {"uses little memory": "peak_memory_mb < 10MB",
                                                    "is quick": "runtime_s < 0.5s"}
    assert [u.clause for u in unmeasurable] == ["reads well"]


def _value(label: str, value: float, source: str = "stdout", **extra: str) -> ObservedValue:
    return ObservedValue(label=label, value=value, source=source, line=extra.pop("line", f"{label}: {value}"),
                         **extra)


def test_instrumentation_from_a_scouting_run() -> None:
    scout = Scouted(run="python3 main.py", exit_code=0, values=[
        _value("train acc", 0.99), _value("Accuracy", 0.9), _value("latency", 0.2, unit="s"),
        _value("f1", 0.7, source="file", path="out/metrics.json", key="eval.f1", line=""),
        _value("score", 3, source="stderr", line="INFO score=3")])
    acc = from_scouting("accuracy", scout, "main")
    assert acc is not None and acc.source == "stdout" and acc.pattern is not None
    hit = re.search(acc.pattern, "Accuracy: 0.9")
    assert hit is not None and hit.group(1) == "0.9"
    f1 = from_scouting("f1", scout, "main")
    assert f1 is not None and (f1.source, f1.path, f1.key) == ("json_artifact", "out/metrics.json", "eval.f1")
    score = from_scouting("score", scout, "main")
    assert score is not None and score.stream == "stderr"
    assert from_scouting("latency_ms", scout, "main") is None  # printed in seconds, wanted in milliseconds
    assert from_scouting("recall", scout, "main") is None


def test_the_search_brain_asks_to_scout_then_plans_from_what_ran() -> None:
    files = {"main.py": "from report import build\n\nif __name__ == '__main__':\n    for k, v in build().items():\n"
                        "        print(f'{k}: {v}')\n",
             "report.py": "def build():\n    return {'total': 3}\n",
             "ask.py": "if __name__ == '__main__':\n    name = input('name? ')\n"}
    views = [FileView(path=p, size=len(t), content=t) for p, t in files.items()]
    candidates = [CommandCandidate(run="python3 ask.py", source="main_guard", entry="ask.py", evidence="ask.py:1"),
                  CommandCandidate(run="python3 main.py", source="main_guard", entry="main.py", evidence="main.py:3")]
    request = PlanRequest(goal=GoalView(text="g", spec="total == 4", targets=["total == 4"]),
                          context=ContextSlice(files=views, budget_chars=10_000), candidates=candidates)
    first = SearchBrain().respond(request)
    assert first.observe == ["python3 main.py", "python3 ask.py"]  # the metric's module first
    scouted = [Scouted(run="python3 ask.py", exit_code=1, waits_for_input=True, error="EOFError: EOF"),
               Scouted(run="python3 main.py", exit_code=0, values=[_value("total", 3, line="total: 3")])]
    plan = SearchBrain().respond(request.model_copy(update={"scouted": scouted})).plan
    assert plan is not None and plan.commands[-1].run == "python3 main.py"
    assert plan.instrumentation[0].source == "stdout"
