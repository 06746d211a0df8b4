"""The engine's measurer: a plan's commands on a tree, here or on a dask worker, repeated for noisy metrics."""

from __future__ import annotations

import time
from pathlib import Path

from remoroo.evidence.events import MeasuredAway
from remoroo.evidence.ledger import RunFolder
from remoroo.measure.commands import Environment
from remoroo.measure.once import Measurement, measure
from remoroo.measure.remote import RemoteMeasurer, can_measure_away
from remoroo.measure.repeat import measure_repeated
from remoroo.model.plan import Plan


class PlanMeasurer:
    """Measures the way this run measures; candidates go to the cluster when there is one and may."""

    def __init__(self, env: Environment, folder: RunFolder, remote: RemoteMeasurer | None = None) -> None:
        self.env, self.folder, self.remote = env, folder, remote

    @property
    def remote_workers(self) -> int:
        return self.remote.workers if self.remote is not None else 0

    def measures_away(self, metrics: list[str]) -> bool:
        """Candidates go to the cluster when there is one and no metric depends on the machine."""
        return self.remote is not None and can_measure_away(metrics)

    def protect_inputs(self, inputs: list[str]) -> None:
        self.env = self.env.model_copy(update={"inputs": sorted(inputs)})

    def measure(self, plan: Plan, metrics: list[str], tree: Path, logs: Path, *, repeats: int, deadline: float,
                first: Measurement | None = None, away: bool = False, cpus: tuple[int, ...] = ()) -> Measurement:
        if away and self.remote is not None and can_measure_away(metrics):
            started = time.monotonic()
            result, worker = self.remote.measure(tree, logs, plan, metrics, repeats, deadline, self.env)
            self.folder.append(MeasuredAway(logs=logs.relative_to(self.folder.root).as_posix(), worker=worker,
                                            seconds=round(time.monotonic() - started, 3)))
            return result
        env = self.env.model_copy(update={"cpus": list(cpus)}) if cpus else self.env
        return measure_repeated(lambda where: measure(plan, metrics, tree, where, env, deadline),
                                logs, repeats, deadline, first=first)

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
