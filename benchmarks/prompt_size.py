"""Tokens per LLM patch call on a generated 1,600-file repository: the request as sent today beside the old JSON dump.

The repository is ``large_repo_turn.py``'s (nested packages of small modules,
``main.py`` whose score needs tuning). A patch request is built the way the
engine builds it (repo index, context slice at the default 60,000-character
budget, a plan, a history of earlier candidates with diffs and errors), then:

- "JSON dump": what the brain sent before issue 18, the kind's prompt, the
  whole request as indented JSON and the answer schema;
- "rendered": what it sends now (``message_text``), per provider default
  budget.

Tokens are characters / 4. Target (issue 18): under 30k tokens per patch call
at the default budget.

    .venv/bin/python benchmarks/prompt_size.py [--files 1600] [--history 12]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from large_repo_turn import generate  # noqa: E402

from remoroo.brain.llm.answers import answer_schema  # noqa: E402
from remoroo.brain.llm.brain import LLMSettings, message_text  # noqa: E402
from remoroo.brain.llm.render import prompt  # noqa: E402
from remoroo.index import build_index  # noqa: E402
from remoroo.index.slice import build_slice  # noqa: E402
from remoroo.model.plan import Plan  # noqa: E402
from remoroo.model.spec import parse_goal  # noqa: E402
from remoroo.protocol.wire import GoalView, PatchRequest, StateSummary  # noqa: E402

PLAN = {"summary": "run main.py, read the score",
        "commands": [{"name": "main", "run": "python3 main.py", "timeout_s": 30}],
        "instrumentation": [{"metric": "score", "source": "stdout", "command": "main", "pattern": r"score=([\d.]+)"}],
        "patch_intents": [{"description": "tune GAIN", "files": ["main.py"]}]}
DIFF = "".join(f"-GAIN = {k}.0\n+GAIN = {k + 1}.0\n" for k in range(30))


def legacy(request: PatchRequest) -> str:
    """The message as the brain built it before: the prompt, the request as JSON, the schema."""
    return (f"{prompt('patch')}\n\nThe request:\n```json\n{request.model_dump_json(indent=1)}\n```\n\n"
            f"Answer with one JSON object matching this JSON Schema:\n```json\n"
            f"{json.dumps(answer_schema('patch'))}\n```\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1600)
    parser.add_argument("--history", type=int, default=12)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="remoroo-prompt-"))
    try:
        repo = tmp / "repo"
        generate(repo, args.files)
        goal = parse_goal("raise the score", "score >= 1000")
        index = build_index(repo)
        context = build_slice(repo, goal, 60_000, index, entries=["main.py"], focus=["main.py"])
        history = [StateSummary(label="baseline", turn=0, metrics={"score": 3.0}, decision="BASELINE", reason="")]
        history += [StateSummary(label=f"turn {t}", turn=t, metrics={"score": 3.0 + t}, decision="REVERTED",
                                 reason="no metric moved beyond noise", files=["main.py"],
                                 rationale=f"tune GAIN to {t + 1}", diff=DIFF, error="")
                    for t in range(1, args.history + 1)]
        request = PatchRequest(goal=GoalView(text=goal.text, spec=goal.spec, targets=["score >= 1000"]),
                               context=context, turn=args.history + 1, plan=Plan.model_validate(PLAN),
                               history=history, log_tails={"main.stdout": "score=3.0\n"})
        old = len(legacy(request)) // 4
        print(f"{args.files} files, {len(context.files)} in the slice, {args.history} history entries")
        print(f"  JSON dump (before issue 18): {old:>7,} tokens")
        for provider in ("openai", "anthropic"):
            settings = LLMSettings(provider=provider, model="m")
            new = len(message_text(request, settings)) // 4
            print(f"  rendered, {provider:<9} budget {settings.budget():>6,}: {new:>7,} tokens "
                  f"({old / max(1, new):.1f}x smaller; target < 30,000: {'met' if new < 30_000 else 'NOT met'})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
