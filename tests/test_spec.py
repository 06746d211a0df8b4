from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remoroo.errors import SpecError
from remoroo.model.goal import BaselineRef, Literal_, SemanticTarget, Target
from remoroo.model.spec import parse_clause, parse_goal, parse_spec, render_target, split_clauses


def one(text: str) -> Target:
    parsed = parse_clause(text)
    assert isinstance(parsed, Target)
    return parsed


def test_separators_comma_and_word_and() -> None:
    assert split_clauses("a == 1, b < 2 AND c > 3 and d exists") == ["a == 1", "b < 2", "c > 3", "d exists"]
    # 'and' inside names and quotes does not split
    assert split_clauses('band == 1, s == "x and y, z"') == ["band == 1", 's == "x and y, z"']


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_every_comparison(op: str) -> None:
    target = one(f"accuracy {op} 0.92")
    assert (target.metric, target.op, target.rhs) == ("accuracy", op, Literal_(value=0.92, text="0.92"))


def test_direction_comes_from_the_spec() -> None:
    assert one("loss < 1").direction == "minimize"
    assert one("acc >= 0.9").direction == "maximize"
    assert one("fib_10 == 55").direction == "match"
    assert one("ok != false").direction == "satisfy"
    assert one("model exists").direction == "satisfy"


@pytest.mark.parametrize(("text", "value"), [
    ("latency_ms < 100ms", 100.0), ("latency_ms < 0.1s", 100.0), ("runtime_s <= 1500ms", 1.5),
    ("runtime < 2min", 120.0), ("peak_memory_mb <= 128MB", 128.0), ("peak_memory_mb <= 1GB", 1024.0),
    ("size_bytes < 2KB", 2048.0), ("mem <= 512KiB", 0.5), ("t_us < 1ms", 1000.0),
])
def test_units_convert_to_the_metric_unit(text: str, value: float) -> None:
    assert one(text).rhs.value == pytest.approx(value)  # type: ignore[union-attr]


def test_booleans_strings_and_integers() -> None:
    assert one("all_tests_pass == true").rhs.value is True  # type: ignore[union-attr]
    assert one("flag != False").rhs.value is False  # type: ignore[union-attr]
    assert one("mode == 'fast'").rhs.value == "fast"  # type: ignore[union-attr]
    assert one('mode != "a, b"').rhs.value == "a, b"  # type: ignore[union-attr]
    assert isinstance(one("fib_10 == 55").rhs.value, int)  # type: ignore[union-attr]
    assert one("x > -1.5e3").rhs.value == -1500.0  # type: ignore[union-attr]


def test_baseline_references() -> None:
    assert one("training_time < baseline training_time").rhs == BaselineRef(metric="training_time")
    assert one("runtime_s < 0.8 * baseline runtime_s").rhs == BaselineRef(metric="runtime_s", factor=0.8)
    assert one("runtime_s <= 0.5 x baseline").rhs == BaselineRef(metric="runtime_s", factor=0.5)
    assert one("p99 < baseline p50").rhs == BaselineRef(metric="p50")


def test_unparseable_clauses_become_semantic_targets() -> None:
    targets, semantic = parse_spec("fib_10 == 55, is correct, METEOR, no metric")
    assert [t.text for t in targets] == ["fib_10 == 55"]
    assert semantic == [SemanticTarget(text="is correct"), SemanticTarget(text="METEOR"),
                        SemanticTarget(text="no metric")]


@pytest.mark.parametrize(("spec", "needle"), [
    ("", "no clause"), (" , and ,", "no clause"), ("fib_10 = 55", "single '='"), ("x ==", "no value"),
    ("x < 5 parsecs", "Unknown unit"), ("x < fast", "Cannot read the value"), ("x < 'a'", "strings compare"),
    ('x == "open', "unclosed quote"), ("== 3", "Cannot parse"), ("x < 2 * baselines", "Cannot read"),
])
def test_malformed_specs_name_the_problem(spec: str, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        parse_spec(spec)


def test_empty_goal_text_is_refused() -> None:
    with pytest.raises(SpecError, match="goal is empty"):
        parse_goal("  ", "a == 1")


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: n not in ("and", "AND", "baseline", "true", "false", "True", "False"))
ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
numbers = st.one_of(st.integers(-10**9, 10**9), st.floats(allow_nan=False, allow_infinity=False, width=64))
strings = st.text(st.characters(blacklist_characters="\"'\n\r", blacklist_categories=("Cs",)), max_size=12)


@st.composite
def targets(draw: st.DrawFn) -> Target:
    name, op = draw(names), draw(ops)
    kind = draw(st.sampled_from(["number", "bool", "string", "baseline", "exists"]))
    if kind == "exists":
        return Target(metric=name, op="exists", text="")
    if kind == "baseline":
        rhs = BaselineRef(metric=draw(names), factor=draw(st.sampled_from([1.0, 0.5, 2.0, 0.8, 1.25])))
    elif kind == "number":
        rhs = Literal_(value=draw(numbers), text="")
    elif kind == "bool":
        rhs = Literal_(value=draw(st.booleans()), text="")
        op = draw(st.sampled_from(["==", "!="]))
    else:
        rhs = Literal_(value=draw(strings), text="")
        op = draw(st.sampled_from(["==", "!="]))
    return Target(metric=name, op=op, rhs=rhs, text="")


@given(st.lists(targets(), min_size=1, max_size=5), st.sampled_from([", ", " AND ", " and ", ","]))
def test_render_then_parse_round_trips(items: list[Target], sep: str) -> None:
    spec = sep.join(render_target(t) for t in items)
    parsed, semantic = parse_spec(spec)
    assert semantic == []
    assert len(parsed) == len(items)
    for got, want in zip(parsed, items, strict=True):
        assert (got.metric, got.op) == (want.metric, want.op)
        if want.rhs is None:
            assert got.rhs is None
        elif isinstance(want.rhs, BaselineRef):
            assert got.rhs == want.rhs
        else:
            assert got.rhs is not None and got.rhs.value == want.rhs.value  # type: ignore[union-attr]
            assert type(got.rhs.value) is type(want.rhs.value)  # type: ignore[union-attr]


@given(st.text(max_size=60))
def test_any_text_either_parses_or_raises_spec_error(text: str) -> None:
    try:
        parsed, semantic = parse_spec(text)
    except SpecError:
        return
    assert parsed or semantic


@pytest.mark.parametrize("clause", [
    "docstring_coverage >= 90% for 100% of files", "all public functions < 50 lines long",
    "latency < 100ms for every request in the load test", "score >= baseline score on each of the datasets",
])
def test_clauses_in_words_with_an_operator_are_semantic(clause: str) -> None:
    """Natural language the grammar cannot measure goes to the plan (resolve or declare it), never exit 2."""
    targets, semantic = parse_spec(f"fib_10 == 55, {clause}")
    assert [t.text for t in targets] == ["fib_10 == 55"] and semantic == [SemanticTarget(text=clause)]
