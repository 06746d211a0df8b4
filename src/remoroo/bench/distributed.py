"""The suite on dask.distributed: a LocalCluster on 127.0.0.1, or an existing scheduler.

Cases are tasks; results stream back as they finish. A case whose worker is
lost is retried once, then recorded as failed. dask's exceptions are
translated here.
"""

from __future__ import annotations

from typing import Iterator

from remoroo.bench.cases import BenchCase
from remoroo.bench.runner import BenchOptions, CaseResult, run_case
from remoroo.errors import EngineError, UserError


def run_on_cluster(cases: list[BenchCase], options: BenchOptions) -> Iterator[CaseResult]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    address = options.cluster or "local"
    try:
        if address == "local":
            cluster = LocalCluster(host="127.0.0.1", n_workers=max(1, options.jobs), threads_per_worker=1,
                                   processes=True, dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        elif address.startswith("tcp://"):
            client = Client(address, timeout="20s")
        else:
            raise UserError(f"--cluster {address!r}: use 'local' or a scheduler address such as tcp://HOST:8786.")
    except OSError as exc:
        raise EngineError(f"cannot reach the dask scheduler at {address}: {exc}") from exc
    try:
        futures = {client.submit(run_case, case, options, retries=1, pure=False, key=f"remoroo-{case.key}"): case
                   for case in cases}
        for future in as_completed(futures):
            case = futures[future]
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker or a task error marks the case failed
                yield CaseResult(key=case.key, case_id=case.case_id, category=case.category, expected=case.expected,
                                 outcome="CRASH", status="crashed", correct=None if case.expected == "undetermined"
                                 else case.expected.upper() == "FAIL", reason=f"dask: {type(exc).__name__}: {exc}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
