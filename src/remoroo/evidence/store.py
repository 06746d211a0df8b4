"""The artifact store: run folders kept in any S3-compatible object store, through boto3.

``--store s3://BUCKET/PREFIX`` (or ``store`` in remoroo.toml) mirrors each
run folder to ``PREFIX/runs/RUN_ID/`` as its files are written: the ledger,
plans, brain requests and answers, the measurement journal, the snapshot
bundle, diffs, witnesses, logs and reports. A fresh clone of the repository
plus the store is enough to ``remoroo resume`` a run on another machine, and
``remoroo bench --store`` shares one suite's results (``PREFIX/bench/``) among
machines, so the incremental skip works across them.

The endpoint is ``--store-endpoint`` (``store_endpoint``), else boto3's own
settings (``AWS_ENDPOINT_URL``, ``~/.aws``); credentials are boto3's
(``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``). botocore errors become
:class:`~remoroo.errors.StoreError` here. The store is a copy: when it goes
away mid-run, the run goes on with its local folder, which holds
everything, and says so.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from remoroo.errors import StoreError, UserError
from remoroo.model.config import STORE_URL

# copies and scratch, rebuilt from the record
LOCAL_ONLY = ("work", "work-candidates", "verify", "verify-baseline", "shim")


@dataclass(frozen=True)
class StoreLocation:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> StoreLocation:
        found = STORE_URL.fullmatch(url.strip())
        if found is None:
            raise UserError(f"--store {url!r} is not an S3 location: use s3://BUCKET/PREFIX (a bucket name of "
                            "3-63 lower-case letters, digits, dots or dashes).")
        return cls(found.group(1), (found.group(2) or "").strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


class ObjectStore:
    """Put, get and list objects under one location; every call is bounded in time."""

    def __init__(self, url: str, endpoint: str | None = None, timeout_s: float = 10.0) -> None:
        import boto3
        from botocore.config import Config

        self.location = StoreLocation.parse(url)
        config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 2},
                        s3={"addressing_style": "path"})
        self.client: Any = boto3.session.Session().client("s3", endpoint_url=endpoint or None, config=config)

    def check(self) -> None:
        """Raise StoreError unless the bucket can be reached (before a run starts, so a typo fails at once)."""
        self._call("reach", self.location.bucket, lambda: self.client.head_bucket(Bucket=self.location.bucket))

    def __str__(self) -> str:
        return str(self.location)

    def put(self, key: str, data: bytes) -> None:
        self._call("write", key, lambda: self.client.put_object(Bucket=self.location.bucket,
                                                                Key=self.location.key(key), Body=data))

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None where there is none."""
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=self.location.key(key))
            return bytes(answer["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._error("read", key, exc) from exc
        except Exception as exc:  # noqa: BLE001 - botocore's transport errors have no common base we can name
            raise self._error("read", key, exc) from exc

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (relative to the location)."""
        found: list[str] = []
        base = self.location.key(prefix)
        base = base + "/" if base and not base.endswith("/") else base
        start = len(self.location.key("")) + (1 if self.location.prefix else 0)

        def collect() -> None:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=base)
            for page in pages:
                found.extend(item["Key"][start:] for item in page.get("Contents", []))

        self._call("list", prefix, collect)
        return found

    def _call(self, what: str, key: str, call: Callable[[], object]) -> None:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - translated at this adapter, as every vendor error is
            raise self._error(what, key, exc) from exc

    def _error(self, what: str, key: str, exc: BaseException) -> StoreError:
        return StoreError(f"the store {self.location} could not {what} {key}: {type(exc).__name__}: {exc}")


class Mirror:
    """Copies run-folder files to the store as they are written, on a thread of its own: a slow or missing
    store never slows or stops the run. ``close`` copies what is left, then the whole folder once more."""

    def __init__(self, store: ObjectStore, root: Path, run_id: str) -> None:
        self.store, self.root, self.base = store, root, f"runs/{run_id}"
        self.failed: str | None = None
        self._queue: queue.Queue[str | threading.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="remoroo-store", daemon=True)
        self._thread.start()

    def __call__(self, relative: str) -> None:
        if self.failed is None and relative.split("/", 1)[0] not in LOCAL_ONLY:
            self._queue.put(relative)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
            elif self.failed is None:
                self._upload(item)

    def _upload(self, relative: str) -> None:
        try:
            data = (self.root / relative).read_bytes()
        except OSError:
            return  # replaced or removed since: a later write queues it again
        try:
            self.store.put(f"{self.base}/{relative}", data)
        except StoreError as exc:
            self.failed = str(exc)

    def drain(self, timeout_s: float = 60.0) -> str | None:
        """Wait for the files queued so far; returns why the store failed, if it did."""
        reached = threading.Event()
        self._queue.put(reached)  # set by the worker once everything queued before it is done
        if not reached.wait(timeout_s) and self.failed is None:
            self.failed = f"the store {self.store} took longer than {timeout_s:g}s to take the run's files"
        return self.failed

    def close(self, timeout_s: float = 60.0) -> str | None:
        """Finish: the queued files, then every file of the folder (once more, should the store have come
        back); returns why the store failed, if it is still failing."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        self.failed = None
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root).as_posix()
            if path.is_file() and relative.split("/", 1)[0] not in LOCAL_ONLY:
                self._upload(relative)
                if self.failed is not None:
                    break
        return self.failed


def newest_run(store: ObjectStore) -> str:
    ids = sorted({key.split("/", 2)[1] for key in store.keys("runs") if key.count("/") >= 2})
    if not ids:
        raise UserError(f"The store {store} holds no run: check --store.")
    return ids[-1]


def fetch_run(store: ObjectStore, run_id: str, dest: Path) -> Path:
    """Bring a run folder from the store to ``dest/RUN_ID`` (``latest``: the newest run in the store)."""
    if run_id == "latest":
        run_id = newest_run(store)
    keys = store.keys(f"runs/{run_id}")
    if not keys:
        raise UserError(f"The store {store} holds no run {run_id!r}: check the id and --store.")
    folder = dest / run_id
    for key in keys:
        relative = key.split("/", 2)[2]
        data = store.get(key)
        if data is None or ".." in relative.split("/"):
            continue
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder
