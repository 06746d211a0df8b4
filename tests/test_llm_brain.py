"""The LLM brain through the real openai and anthropic SDKs, against a local replay server."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import FIB_PLAN, git_init, write_files
from replay_server import ReplayServer

from remoroo.brain import client_from_config
from remoroo.brain.llm.brain import extract_json
from remoroo.evidence.report import parse_outcome
from remoroo.loop.engine import run
from remoroo.model.config import build_config

FIB = {
    "fib.py": "def fib(n):\n    a, b = 0, 1\n    for _ in range(n - 1):\n        a, b = b, a + b\n    return a\n",
    "main.py": "from fib import fib\n\nprint(f'fib_10={fib(10)}')\n",
}
PLAN = json.dumps({"plan": FIB_PLAN})
FIX = json.dumps({"proposals": [{"rationale": "n steps, not n - 1",
                                 "edits": [{"path": "fib.py", "search": "range(n - 1)", "replace": "range(n)"}]}]})
WORSE = json.dumps({"proposals": [{"rationale": "try fewer steps", "edits": [
    {"path": "fib.py", "search": "range(n - 1)", "replace": "range(n - 2)"}]}]})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "fib", FIB)
    git_init(root)
    return root


def run_llm(repo: Path, server: ReplayServer, provider: str = "openai", **settings: Any) -> dict[str, Any]:
    base = server.url + ("/v1" if provider == "openai" else "")
    cli = {"goal": "fix fib", "metrics": "fib_10 == 55", "brain": "llm", "llm_model": "replayed",
           "llm_provider": provider, "llm_base_url": base, "max_turns": 3, **settings}
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    config = build_config(repo, cli, env)
    result = run(config, client_from_config(config))
    report = json.loads((result.run_dir / "final_report.json").read_text())
    assert parse_outcome((result.run_dir / "final_report.md").read_text()) == report["outcome"]
    report["run_dir"] = str(result.run_dir)
    return report


def test_clean_plan_and_patch_openai(repo: Path) -> None:
    with ReplayServer([{"text": PLAN, "tokens": [500, 200]}, {"text": FIX, "tokens": [700, 100]}]) as server:
        report = run_llm(repo, server, llm_price_in_per_mtok=3.0, llm_price_out_per_mtok=15.0)
    assert report["outcome"] == "SUCCESS", report["reason"]
    assert report["usage"] == {"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.0081, "model_calls": 2}
    first = server.requests[0]
    assert first["model"] == "replayed" and first["response_format"]["type"] == "json_schema"
    assert "fib_10 == 55" in first["messages"][1]["content"]
    transcripts = sorted(p.name for p in (Path(report["run_dir"]) / "brain").iterdir())
    assert transcripts[:2] == ["0001-plan.request.json", "0001-plan.response.json"]


def test_json_in_prose_anthropic(repo: Path) -> None:
    prose_plan = f"Sure, here is my plan.\n\n```json\n{PLAN}\n```\n\nLet me know!"
    prose_fix = f"The loop is one step short:\n{FIX}\nThat is all."
    with ReplayServer([{"text": prose_plan}, {"text": prose_fix}]) as server:
        report = run_llm(repo, server, provider="anthropic")
    assert report["outcome"] == "SUCCESS", report["reason"]
    assert server.requests[0]["system"].startswith("You are the planning brain of remoroo")


def test_invalid_json_is_repaired_after_feedback(repo: Path) -> None:
    with ReplayServer([{"text": "{plan: this is not json"}, {"text": PLAN}, {"text": FIX}]) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "SUCCESS"
    repair = server.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "{plan: this is not json"}
    assert "That answer is invalid" in repair[-1]["content"]


def test_output_that_never_validates_ends_fail_with_the_raw_output_kept(repo: Path) -> None:
    bad = [{"text": json.dumps({"plan": {"commands": []}})}] * 3
    with ReplayServer(bad) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "FAIL" and "malformed model output after 3 attempt(s)" in report["reason"]
    response = json.loads((Path(report["run_dir"]) / "brain" / "0001-plan.response.json").read_text())
    assert len(response["raw_outputs"]) == 3


def test_stall_past_the_timeout_is_tried_again(repo: Path) -> None:
    started = time.monotonic()
    with ReplayServer([{"text": PLAN, "delay": 6}, {"text": PLAN}, {"text": FIX}]) as server:
        report = run_llm(repo, server, llm_timeout_s=1.0)
    assert time.monotonic() - started < 6 + 30
    assert report["outcome"] == "SUCCESS", report["reason"]


def test_budget_exceeded_before_the_next_call(repo: Path) -> None:
    with ReplayServer([{"text": PLAN, "tokens": [80, 20]}, {"text": WORSE, "tokens": [80, 20]},
                       {"text": FIX}]) as server:
        report = run_llm(repo, server, max_tokens=150)
    assert report["outcome"] == "FAIL" and "(stopped: budget: token budget used up" in report["reason"]
    # no patch call after the budget ran out; only the judge, after the outcome was fixed, on its own allowance
    kinds = [_kind(r) for r in server.requests]
    assert kinds[:2] == ["plan", "patch"] and kinds[2:] and set(kinds[2:]) == {"judge"}, kinds


def _kind(body: dict) -> str:
    """The kind of the remoroo request an LLM call carries (in its last user message)."""
    text = [m["content"] for m in body["messages"] if m["role"] == "user"][0]
    found = re.search(r'"kind": "(\w+)"', text)
    return found.group(1) if found else "?"


def test_ambiguous_search_block_is_fed_back(repo: Path) -> None:
    ambiguous = json.dumps({"proposals": [{"rationale": "r", "edits": [
        {"path": "fib.py", "search": "a", "replace": "x"}]}]})
    with ReplayServer([{"text": PLAN}, {"text": ambiguous}, {"text": FIX}]) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "SUCCESS", report["reason"]
    assert "matches" in server.message_texts(2) and "places" in server.message_texts(2)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": 1}', {"a": 1}),
    ('Here:\n```json\n{"a": {"b": [1, 2]}}\n```', {"a": {"b": [1, 2]}}),
    ('prefix {"a": "}"} suffix {"b": 2}', {"a": "}"}),
    ('{not json} then {"ok": true}', {"ok": True}),
])
def test_extract_json(text: str, expected: dict) -> None:
    assert extract_json(text) == expected


def test_extract_json_without_an_object() -> None:
    with pytest.raises(ValueError):
        extract_json("no braces here")
