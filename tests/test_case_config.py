from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_files

from remoroo.errors import CaseError, UserError
from remoroo.model.case import load_case
from remoroo.model.config import build_config

CASE = {"case_id": "fib", "name": "n", "description": "d", "repo_path": "repo", "goal": "g",
        "metrics": "fib_10 == 55", "expected_outcome": "SUCCESS", "timeout_s": 60, "max_turns": 3,
        "tags": ["a"], "suite_meta": {"difficulty": "easy"}}


def make_case(tmp_path: Path, data: object) -> Path:
    (tmp_path / "repo").mkdir(exist_ok=True)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_case_loads_and_keeps_unknown_keys(tmp_path: Path) -> None:
    case, repo = load_case(make_case(tmp_path, CASE))
    assert repo == (tmp_path / "repo").resolve()
    assert case.expected_outcome == "success"
    assert case.model_extra == {"suite_meta": {"difficulty": "easy"}}
    assert load_case(tmp_path)[0] == case  # the folder works too


@pytest.mark.parametrize(("data", "needle"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ({k: v for k, v in CASE.items() if k != "goal"}, "goal: Field required"),
    (dict(CASE, expected_outcome="great"), "expected_outcome"),
    (dict(CASE, timeout_s=-1), "timeout_s"),
    (dict(CASE, repo_path="missing"), "repo_path 'missing' does not exist"),
])
def test_malformed_cases(tmp_path: Path, data: object, needle: str) -> None:
    with pytest.raises(CaseError, match=needle):
        load_case(make_case(tmp_path, data))


def test_config_layers_and_sources(tmp_path: Path) -> None:
    write_files(tmp_path, {"remoroo.toml": "[run]\nmax_turns = 5\nstagnation_turns = 2\ngrace_s = 0.5\n"})
    config = build_config(tmp_path, {"goal": "g", "metrics": "a == 1", "grace_s": 0.1, "brain": None},
                          {"REMOROO_STAGNATION_TURNS": "4", "REMOROO_KEEP_WORK": "true", "UNRELATED": "x"})
    assert (config.max_turns, config.stagnation_turns, config.grace_s, config.keep_work) == (5, 4, 0.1, True)
    assert config.sources["max_turns"] == "remoroo.toml"
    assert config.sources["stagnation_turns"] == "env"
    assert config.sources["grace_s"] == "cli"
    assert config.sources["brain"] == "default"
    assert "command_env" not in config.model_dump()


@pytest.mark.parametrize(("toml", "env", "needle"), [
    ("[run]\nmax_turn = 5\n", {}, "unknown setting"),
    ("[run\n", {}, "not valid TOML"),
    ("", {"REMOROO_MAX_TURNS": "many"}, "REMOROO_MAX_TURNS='many' is not a valid int"),
    ("[run]\nmax_turns = -2\n", {}, "max_turns \\(from remoroo.toml\\)"),
    ("", {"REMOROO_CLUSTER": "my-cluster"},
     "cluster \\(from env\\): Value error, 'my-cluster' is neither 'local' nor a scheduler address"),
])
def test_bad_config_names_the_source(tmp_path: Path, toml: str, env: dict, needle: str) -> None:
    write_files(tmp_path, {"remoroo.toml": toml})
    with pytest.raises(UserError, match=needle):
        build_config(tmp_path, {"goal": "g", "metrics": "a == 1"}, env)
