"""In-memory fakes for unit tests of the loop's stages: a brain that answers from lists, a measurer that reads files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remoroo.evidence.ledger import RunFolder
from remoroo.exec.workspace import Workspace
from remoroo.loop.indexer import RunIndex
from remoroo.loop.state import RunContext
from remoroo.measure.commands import CommandRun
from remoroo.measure.once import Measurement
from remoroo.model.config import RunConfig
from remoroo.model.plan import Plan
from remoroo.model.spec import parse_goal
from remoroo.protocol.client import BrainClient
from remoroo.protocol.wire import (
    AnyRequest,
    AnyResponse,
    InstrumentResponse,
    JudgeResponse,
    PatchResponse,
    PlanResponse,
    Usage,
    in_process,
)

SCORE_PLAN = Plan.model_validate({
    "commands": [{"name": "main", "run": "python3 main.py"}],
    "instrumentation": [{"metric": "score", "source": "stdout", "command": "main", "pattern": r"score=(\d+)"}],
    "patch_intents": [{"description": "the score is the code under change here", "files": ["score.txt"]}],
})


class ListBrain:
    """Answers each kind of request from its own list, in order; records every request it saw."""

    def __init__(self, plans: list[PlanResponse] | None = None, patches: list[PatchResponse] | None = None,
                 instruments: list[InstrumentResponse] | None = None, judge_tokens: int = 0) -> None:
        self.answers: dict[str, list[Any]] = {"plan": list(plans or []), "patch": list(patches or []),
                                              "instrument": list(instruments or [])}
        self.judge_tokens = judge_tokens
        self.seen: list[AnyRequest] = []

    def respond(self, request: AnyRequest) -> AnyResponse:
        self.seen.append(request)
        if request.kind == "judge":
            return JudgeResponse(reasoning="looks fine", usage=Usage(input_tokens=self.judge_tokens))
        queue = self.answers[request.kind]
        if not queue:
            return {"plan": PlanResponse, "patch": PatchResponse,
                    "instrument": InstrumentResponse}[request.kind](give_up="nothing scripted")
        answer: AnyResponse = queue.pop(0)
        return answer


class FileMeasurer:
    """Reads ``score`` from ``score.txt`` in the measured tree (missing file: the command crashed)."""

    def __init__(self, override: dict[str, dict[str, Any]] | None = None) -> None:
        self.calls: list[Path] = []
        self.override = override or {}

    @property
    def remote_workers(self) -> int:
        return 0

    def measures_away(self, metrics: list[str]) -> bool:
        return False

    def protect_inputs(self, inputs: list[str]) -> None:
        self.protected = list(inputs)

    def measure(self, plan: Plan, metrics: list[str], tree: Path, logs: Path, *, repeats: int, deadline: float,
                first: Measurement | None = None, away: bool = False, cpus: tuple[int, ...] = ()) -> Measurement:
        self.calls.append(tree)
        source = tree / "score.txt"
        ok = source.is_file()
        run = CommandRun(name="main", run="python3 main.py", exit_code=0 if ok else 1, timed_out=False,
                         duration_s=0.01, stdout_tail=f"score={source.read_text().strip()}" if ok else "",
                         stderr_tail="" if ok else "FileNotFoundError: score.txt", stdout_log="", stderr_log="")
        metrics_found: dict[str, Any] = {"score": int(source.read_text())} if ok else {}
        for marker, values in self.override.items():
            if marker in str(tree):
                metrics_found.update(values)
        missing = {m: "no value" for m in metrics if m not in metrics_found}
        return Measurement(metrics=metrics_found, missing=missing, commands=[run], duration_s=0.01)


def context(repo: Path, spec: str, brain: ListBrain, measurer: FileMeasurer, **config: Any) -> RunContext:
    """A run context over a real git snapshot of ``repo`` and a real run folder, with the fakes plugged in."""
    settings = RunConfig(repo=repo, goal="raise the score", metrics=spec, **config)
    folder = RunFolder.create(repo, "test-run")
    workspace = Workspace.snapshot(repo, folder.root / "work")
    return RunContext(config=settings, user_goal=parse_goal(settings.goal, spec),
                      brain=BrainClient(in_process(brain), name="list", budgets=settings.budgets()), folder=folder,
                      workspace=workspace, measurer=measurer, index=RunIndex(workspace.root, folder, repo),
                      budgets=settings.budgets())
