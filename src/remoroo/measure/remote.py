"""Measuring candidates on other machines, through dask.distributed.

The candidate's tree travels as a gzipped tar (``.git`` left out, the
snapshot's ignored data included). A worker unpacks it in a temporary folder,
writes its own helper shim, measures it the way the run measures (the plan's
commands, repeated as configured, sealed in the worker's own sandbox) and sends
back the measurement with every log file. The orchestrator writes the logs
into the candidate's folder and rewrites paths, so witnesses and reports read
them as if the candidate had run here.

Only goals with no timing or memory metric are measured away: those depend on
the machine, and the baseline was measured here.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from remoroo.errors import EngineError
from remoroo.exec.sandbox import Sandbox
from remoroo.measure.commands import Environment
from remoroo.measure.once import Measurement
from remoroo.model.metrics import is_timing
from remoroo.model.plan import Plan

MACHINE_BOUND = ("peak_memory_mb",)


class MeasureJob(BaseModel):
    archive: bytes
    plan: Plan
    metrics: list[str]
    repeats: int
    budget_s: float
    grace_s: float
    sandbox: Sandbox = Sandbox()
    allowed: list[str] = []
    inputs: list[str] = []


class MeasureResult(BaseModel):
    measurement: Measurement
    logs: dict[str, bytes]
    tree_root: str
    logs_root: str
    worker: str


def can_measure_away(metrics: list[str]) -> bool:
    return not any(is_timing(m) or m in MACHINE_BOUND for m in metrics)


def pack(tree: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(tree.rglob("*")):
            rel = path.relative_to(tree)
            if rel.parts[0] == ".git" or path.is_dir() and not path.is_symlink():
                continue
            archive.add(path, arcname=rel.as_posix(), recursive=False)
    return buffer.getvalue()


def measure_job(job: MeasureJob) -> MeasureResult:
    """Runs on a worker: unpack, measure, collect the logs."""
    import os
    import socket

    from remoroo.measure.once import measure
    from remoroo.measure.repeat import measure_repeated
    from remoroo.measure.shim import write_shim

    with tempfile.TemporaryDirectory(prefix="remoroo-remote-") as tmp:
        root = Path(tmp)
        tree, logs = root / "tree", root / "logs"
        tree.mkdir()
        with tarfile.open(fileobj=io.BytesIO(job.archive), mode="r:gz") as archive:
            archive.extractall(tree, filter="data")
        sandbox = job.sandbox.model_copy(update={"hidden": [str(root)]})  # the worker's own folders
        env = Environment(base_env=dict(os.environ), shim_dir=str(write_shim(root / "shim")), grace_s=job.grace_s,
                          sandbox=sandbox, allowed=job.allowed, inputs=job.inputs)
        deadline = time.monotonic() + job.budget_s
        result = measure_repeated(lambda where: measure(job.plan, job.metrics, tree, where, env, deadline),
                                  logs, job.repeats, deadline)
        files = {p.relative_to(logs).as_posix(): p.read_bytes() for p in logs.rglob("*") if p.is_file()}
        return MeasureResult(measurement=result, logs=files, tree_root=str(tree), logs_root=str(logs),
                             worker=socket.gethostname())


def land(result: MeasureResult, logs: Path, tree: Path) -> Measurement:
    """Write a worker's logs under ``logs`` and point the measurement at them (and at ``tree``)."""
    swaps = [(result.logs_root.encode(), str(logs).encode()), (result.tree_root.encode(), str(tree).encode())]
    for rel, data in result.logs.items():
        target = logs / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        for old, new in swaps:  # stack traces name the worker's folders: name ours
            data = data.replace(old, new)
        target.write_bytes(data)
    text = result.measurement.model_dump_json()
    text = text.replace(result.logs_root, str(logs)).replace(result.tree_root, str(tree))
    return Measurement.model_validate_json(text)


class RemoteMeasurer:
    """A dask client for the run: a LocalCluster on 127.0.0.1, or an existing scheduler."""

    def __init__(self, address: str, workers: int) -> None:
        from remoroo.exec.pool import DaskExecutor

        self._executor = DaskExecutor(address, workers=workers)
        self.client: Any = self._executor.client
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def measure(self, tree: Path, logs: Path, plan: Plan, metrics: list[str], repeats: int, deadline: float,
                env: Environment) -> tuple[Measurement, str]:
        budget = deadline - time.monotonic()
        if budget <= 0:
            raise EngineError("the run's time budget was used up before a remote measurement")
        job = MeasureJob(archive=pack(tree), plan=plan, metrics=metrics, repeats=repeats, budget_s=budget,
                         grace_s=env.grace_s, sandbox=env.sandbox.model_copy(update={"hidden": []}),
                         allowed=env.allowed, inputs=env.inputs)
        with self._lock:  # the client is shared by the threads measuring a batch
            future = self.client.submit(measure_job, job, pure=False, retries=1)
        try:
            result: MeasureResult = future.result(timeout=budget + 30)
        except Exception as exc:  # noqa: BLE001 - a lost worker or a timeout, as an engine error
            raise EngineError(f"remote measurement failed: {type(exc).__name__}: {exc}") from exc
        return land(result, logs, tree), result.worker

    def close(self) -> None:
        self._executor.close()
