"""One executor interface for spreading work: a suite's cases and a turn's candidate batch.

``LocalExecutor`` runs tasks on threads (each task's real work is in
subprocesses); ``DaskExecutor`` submits them to a dask.distributed cluster (a
LocalCluster on 127.0.0.1, or an existing scheduler). Both yield results as
they finish, tagged with the index of their item.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Protocol, TypeVar

from remoroo.errors import EngineError, UserError

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    def run(self, fn: Callable[[T], R], items: list[T]) -> Iterator[tuple[int, R | BaseException]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)

    def run(self, fn: Callable[[T], R], items: list[T]) -> Iterator[tuple[int, R | BaseException]]:
        if self.workers == 1:
            for index, item in enumerate(items):
                yield index, _call(fn, item)
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="remoroo-work") as pool:
            futures = {pool.submit(_call, fn, item): index for index, item in enumerate(items)}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def close(self) -> None:
        return None


def _call(fn: Callable[[T], R], item: T) -> R | BaseException:
    try:
        return fn(item)
    except Exception as exc:  # noqa: BLE001 - handed to the caller, which records it
        return exc


class DaskExecutor:
    """Tasks on dask.distributed; a task whose worker is lost is retried once."""

    def __init__(self, address: str, workers: int) -> None:
        from distributed import Client, LocalCluster

        self.cluster: Any = None
        try:
            if address == "local":
                self.cluster = LocalCluster(host="127.0.0.1", n_workers=max(1, workers), threads_per_worker=1,
                                            processes=True, dashboard_address=None, silence_logs=40)
                self.client = Client(self.cluster)
            elif address.startswith("tcp://"):
                self.client = Client(address, timeout="20s")
            else:
                raise UserError(f"--cluster {address!r}: use 'local' or a scheduler address such as tcp://HOST:8786.")
        except OSError as exc:
            raise EngineError(f"cannot reach the dask scheduler at {address}: {exc}") from exc

    def run(self, fn: Callable[[T], R], items: list[T]) -> Iterator[tuple[int, R | BaseException]]:
        from distributed import as_completed as dask_completed

        futures = {self.client.submit(fn, item, retries=1, pure=False): index for index, item in enumerate(items)}
        for future in dask_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker or a task error, recorded by the caller
                yield futures[future], exc

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(cluster: str | None, workers: int) -> Executor:
    return DaskExecutor(cluster, workers) if cluster else LocalExecutor(workers)
