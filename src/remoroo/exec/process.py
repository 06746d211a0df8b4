"""Run one command in its own session, with a timeout, and leave nothing behind.

Every process the command starts is found three ways: descendants seen while
it runs (polled), members of its process group, and any process whose
environment carries the command's unique ``REMOROO_PROC_TAG`` (which catches
grandchildren that called ``setsid`` and were reparented away). When the
command ends, times out, or the caller is interrupted, all of them get
SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil
from pydantic import BaseModel

from remoroo.errors import CommandError

TAG_ENV = "REMOROO_PROC_TAG"
_POLL_S = 0.05


class ProcessResult(BaseModel):
    """What happened to one command."""

    exit_code: int | None
    timed_out: bool
    duration_s: float
    started_at: float
    stdout_path: str
    stderr_path: str
    leftover_pids: list[int] = []
    peak_memory_mb: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.exit_code == 0


class Running:
    """A started command: wait for it, poll it, and stop it with everything it started."""

    def __init__(self, run: str, *, cwd: Path, env: dict[str, str], stdout_path: Path, stderr_path: Path,
                 grace_s: float = 1.0) -> None:
        self.tag = uuid.uuid4().hex
        self.grace_s = grace_s
        self.stdout_path, self.stderr_path = stdout_path, stderr_path
        self.seen: dict[int, float] = {}
        self.peak_rss = 0
        stdout_path.parent.mkdir(parents=True, exist_ok=True)
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            self.started_at = time.time()
            self.start = time.perf_counter()
            try:
                self.proc = subprocess.Popen(
                    ["/bin/sh", "-c", run], cwd=cwd, env={**env, TAG_ENV: self.tag}, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, start_new_session=True,
                )
            except OSError as exc:
                raise CommandError(f"could not start {run!r} in {cwd}: {exc}") from exc

    def alive(self) -> bool:
        _track(self.proc.pid, self.seen)
        return self.proc.poll() is None

    def wait(self, deadline: float) -> bool:
        """Wait until the command exits or ``deadline`` (perf_counter); True if it is still running."""
        while True:
            _track(self.proc.pid, self.seen)
            self.peak_rss = max(self.peak_rss, _tree_rss(self.proc.pid))
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return self.proc.poll() is None
            try:
                self.proc.wait(timeout=min(_POLL_S, remaining))
                return False
            except subprocess.TimeoutExpired:
                continue

    def stop(self, *, dump_stacks: bool = False) -> list[int]:
        return kill_tree(self.proc, self.tag, self.seen, grace_s=self.grace_s, dump_stacks=dump_stacks)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def run_process(
    run: str,
    *,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    stdout_path: Path,
    stderr_path: Path,
    grace_s: float = 1.0,
) -> ProcessResult:
    """Run ``run`` with ``/bin/sh -c`` and wait at most ``timeout_s`` seconds."""
    running = Running(run, cwd=cwd, env=env, stdout_path=stdout_path, stderr_path=stderr_path, grace_s=grace_s)
    timed_out = False
    try:
        timed_out = running.wait(running.start + timeout_s)
    finally:
        duration = running.elapsed()
        leftovers = running.stop(dump_stacks=timed_out)
    return ProcessResult(
        exit_code=None if timed_out else running.proc.returncode,
        timed_out=timed_out,
        duration_s=duration,
        started_at=running.started_at,
        stdout_path=str(stdout_path),
        stderr_path=str(stderr_path),
        leftover_pids=leftovers,
        peak_memory_mb=running.peak_rss / 2**20,
    )


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants (two children of 300 MB count 600 MB)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def _track(pid: int, seen: dict[int, float]) -> None:
    try:
        for child in psutil.Process(pid).children(recursive=True):
            try:
                seen.setdefault(child.pid, child.create_time())
            except psutil.Error:
                continue
    except psutil.Error:
        return


def kill_tree(proc: subprocess.Popen[bytes], tag: str, seen: dict[int, float], *, grace_s: float,
              dump_stacks: bool = False) -> list[int]:
    """Terminate every process of the command; return the pids that were still running.

    With ``dump_stacks`` (a timeout), Python processes first get SIGUSR1, on which the
    engine's sitecustomize prints every thread's stack to stderr: the witness of where
    the program was stuck.
    """
    _track(proc.pid, seen)
    victims = _find(proc.pid, tag, seen)
    if proc.poll() is None:
        try:
            victims.append(psutil.Process(proc.pid))
        except psutil.Error:
            pass
    if dump_stacks:
        _signal_python(victims, signal.SIGUSR1)
    leftover_pids = sorted(p.pid for p in victims if p.pid != proc.pid)
    if victims:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for victim in victims:
                try:
                    victim.send_signal(sig)
                except psutil.Error:
                    continue
            victims = _wait_gone(victims, grace_s if sig == signal.SIGTERM else 5.0)
            if not victims:
                break
    _reap(proc)
    return leftover_pids


def _reap(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    """Collect the exit status of ``proc``, killing it if it lingers; never blocks for good.

    ``Popen.wait`` can wait forever on its internal lock when a signal handler's exception
    (Ctrl-C, SIGTERM) interrupted an earlier ``wait`` just after it took that lock, so the
    status is collected with ``os.waitpid`` directly, which takes no lock.
    """
    deadline = time.monotonic() + timeout_s
    killed = False
    while proc.returncode is None:
        try:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (Popen.poll in another thread)
            return
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return
        if time.monotonic() > deadline:
            if killed:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            killed, deadline = True, time.monotonic() + timeout_s
        time.sleep(0.01)


def _signal_python(procs: list[psutil.Process], sig: signal.Signals) -> None:
    sent = False
    for victim in procs:
        try:
            if "python" in victim.name().lower():
                victim.send_signal(sig)
                sent = True
        except psutil.Error:
            continue
    if sent:
        time.sleep(0.3)


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each process has exited (a zombie counts as gone); return the rest."""
    deadline = time.monotonic() + timeout
    alive = list(procs)
    while alive:
        alive = [p for p in alive if _running(p)]
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return alive


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _find(root_pid: int, tag: str, seen: dict[int, float]) -> list[psutil.Process]:
    me = os.getpid()
    found: dict[int, psutil.Process] = {}
    for pid, created in seen.items():
        try:
            candidate = psutil.Process(pid)
            if abs(candidate.create_time() - created) < 0.01 and candidate.status() != psutil.STATUS_ZOMBIE:
                found[pid] = candidate
        except psutil.Error:
            continue
    uid = os.getuid()
    for candidate in psutil.process_iter(["pid", "uids"]):
        pid = candidate.info["pid"]
        if pid in found or pid in (me, root_pid) or pid <= 1:
            continue
        try:
            if candidate.info["uids"] is None or candidate.info["uids"].real != uid:
                continue
            if _belongs(candidate, root_pid, tag):
                found[pid] = candidate
        except psutil.Error:
            continue
    return list(found.values())


def _belongs(candidate: psutil.Process, root_pid: int, tag: str) -> bool:
    try:
        if os.getpgid(candidate.pid) == root_pid:
            return candidate.status() != psutil.STATUS_ZOMBIE
    except OSError:
        return False
    return candidate.environ().get(TAG_ENV) == tag
