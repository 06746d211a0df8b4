"""The LLM brain survives the endpoint's hiccups: each failure mode once, then a good answer, ends SUCCESS."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from conftest import cli, git_init, write_files
from replay_server import ReplayServer
from test_llm_brain import FIB, FIX, PLAN, run_llm

TEXT_FIX = """## Diagnosis
The loop runs one step short.

## Proposal 1: n steps, not n - 1
Rationale: fib(n) needs n additions.

fib.py
<<<<<<< SEARCH
    for _ in range(n - 1):
=======
    for _ in range(n):
>>>>>>> REPLACE
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "fib", FIB)
    git_init(root)
    return root


def _user_text(body: dict) -> str:
    """The last user message of an OpenAI or Anthropic request, as text."""
    content = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    return content if isinstance(content, str) else "".join(b["text"] for b in content)


@pytest.mark.parametrize("failure", [
    {"status": 429, "headers": {"retry-after": "0.3"}, "error": "rate limited"},
    {"status": 500, "error": "internal error"},
    {"status": 503, "error": "overloaded"},
    {"text": PLAN, "delay": 4},  # a stall past the attempt's timeout
], ids=["429", "500", "503", "timeout"])
def test_a_failed_first_call_is_tried_again(repo: Path, failure: dict) -> None:
    with ReplayServer([failure, {"text": PLAN}, {"text": TEXT_FIX}]) as server:
        report = run_llm(repo, server, llm_timeout_s=1.5)
    assert report["outcome"] == "SUCCESS", report["reason"]
    assert len([r for r in server.requests if "json_schema" in json.dumps(r.get("response_format", {}))]) >= 2


def test_retry_after_is_honoured(repo: Path) -> None:
    stamps: list[float] = []
    with ReplayServer([{"status": 429, "headers": {"retry-after": "1.2"}}, {"text": PLAN}, {"text": FIX}]) as server:
        original = server.server.RequestHandlerClass.do_POST

        def stamped(handler: object) -> None:
            stamps.append(time.monotonic())
            original(handler)

        setattr(server.server.RequestHandlerClass, "do_POST", stamped)  # noqa: B010
        report = run_llm(repo, server)
    assert report["outcome"] == "SUCCESS", report["reason"]
    assert stamps[1] - stamps[0] >= 1.1  # waited as asked, not the 0.5 s first backoff


def test_anthropic_overloaded_then_good(repo: Path) -> None:
    with ReplayServer([{"status": 529, "error": "Overloaded"}, {"text": PLAN}, {"text": TEXT_FIX}]) as server:
        report = run_llm(repo, server, provider="anthropic")
    assert report["outcome"] == "SUCCESS", report["reason"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_cut_off_answer_is_asked_again_for_fewer_candidates(repo: Path, provider: str) -> None:
    cut = {"text": TEXT_FIX[:120], "cut_off": True}
    with ReplayServer([{"text": PLAN}, cut, {"text": TEXT_FIX}]) as server:
        report = run_llm(repo, server, provider=provider, batch_size=6)
    assert report["outcome"] == "SUCCESS", report["reason"]
    first, again = _user_text(server.requests[1]), _user_text(server.requests[2])
    assert '"max_candidates": 6' in first and '"max_candidates": 3' in again
    assert "cut off at the output limit" in again
    raw = json.loads((Path(report["run_dir"]) / "brain" / "0002-patch.response.json").read_text())
    assert raw["raw_outputs"] == [TEXT_FIX[:120]]


def test_context_too_long_is_answered_with_a_smaller_request(repo: Path) -> None:
    too_long = {"status": 400, "error": "This model's maximum context length is 8192 tokens. However, your "
                                        "messages resulted in 9000 tokens. Please reduce the length."}
    with ReplayServer([{"text": PLAN}, too_long, {"text": TEXT_FIX}]) as server:
        report = run_llm(repo, server, llm_context_tokens=4000)
    assert report["outcome"] == "SUCCESS", report["reason"]
    # the smaller request still asks for structured output as before: a 400 about length is not about schemas
    assert len(json.dumps(server.requests[2])) <= len(json.dumps(server.requests[1]))


def test_a_400_about_the_schema_turns_structured_output_off_only_when_that_helps(repo: Path) -> None:
    refused = {"status": 400, "error": "response_format json_schema is not supported"}
    with ReplayServer([refused, {"text": PLAN}, {"text": TEXT_FIX}]) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "SUCCESS", report["reason"]
    assert "response_format" in server.requests[0] and "response_format" not in server.requests[1]


def test_a_refused_key_ends_fail_naming_the_key(repo: Path) -> None:
    with ReplayServer([{"status": 401, "error": "invalid api key"}]) as server:
        report = run_llm(repo, server)
    assert report["outcome"] == "FAIL" and "API key" in report["reason"]
    assert len(server.requests) == 1  # a refused key is not tried again


def test_an_endpoint_that_keeps_stalling_ends_within_the_run_time(repo: Path) -> None:
    started = time.monotonic()
    with ReplayServer([{"text": PLAN, "delay": 30}] * 20) as server:
        report = run_llm(repo, server, llm_timeout_s=1.0, timeout_s=8)
    assert time.monotonic() - started < 25
    assert report["outcome"] == "FAIL" and ("stalled" in report["reason"] or "time" in report["reason"])
    assert len(server.requests) >= 2  # tried again before giving up


def test_missing_key_is_exit_2_naming_the_variable(fib_repo: Path) -> None:
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain", "llm",
               "--llm-model", "gpt-x", "--yes")
    assert done.returncode == 2, done.stderr
    assert "OPENAI_API_KEY" in done.stderr + done.stdout
    assert not (fib_repo / ".remoroo" / "runs").exists() or not any((fib_repo / ".remoroo" / "runs").iterdir())


def test_unreachable_endpoint_is_exit_2_naming_the_url(fib_repo: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain", "llm",
               "--llm-model", "m", "--llm-base-url", url, "--yes", "--llm-timeout", "30")
    assert done.returncode == 2, done.stderr
    assert url in done.stderr + done.stdout


def test_run_has_the_llm_options() -> None:
    done = cli("run", "--help")
    for option in ("--llm-timeout", "--llm-max-output-tokens", "--llm-context-tokens"):
        assert option in done.stdout
