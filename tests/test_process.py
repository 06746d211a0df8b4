from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil

from remoroo.exec.process import run_process


def run(tmp_path: Path, cmd: str, timeout: float = 5.0, grace: float = 0.3):
    return run_process(cmd, cwd=tmp_path, env=dict(os.environ), timeout_s=timeout,
                       stdout_path=tmp_path / "out.log", stderr_path=tmp_path / "err.log", grace_s=grace)


def gone(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def test_exit_code_and_streams(tmp_path: Path) -> None:
    result = run(tmp_path, "echo out; echo err >&2; exit 7")
    assert (result.exit_code, result.timed_out, result.ok) == (7, False, False)
    assert (tmp_path / "out.log").read_text() == "out\n"
    assert (tmp_path / "err.log").read_text() == "err\n"


def test_runs_in_its_own_session(tmp_path: Path) -> None:
    run(tmp_path, f"{sys.executable} -c 'import os; print(os.getsid(0), os.getpid())'")
    sid, pid = (tmp_path / "out.log").read_text().split()
    assert sid != str(os.getsid(0))


def test_timeout_kills_setsid_grandchild_that_ignores_sigterm(tmp_path: Path) -> None:
    child = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "os.setsid()\n"
        "if os.fork():\n    os._exit(0)\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
        "while True:\n    time.sleep(0.1)\n"
    )
    (tmp_path / "child.py").write_text(child)
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    result = run(tmp_path, f"{sys.executable} child.py {pid_file} & trap '' TERM; sleep 30", timeout=1.0)
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 4
    assert gone(int(pid_file.read_text()))


def test_background_process_left_by_a_finished_command_is_killed(tmp_path: Path) -> None:
    result = run(tmp_path, "sleep 30 & echo $! > bg.pid; exit 0")
    assert result.exit_code == 0 and not result.timed_out
    pid = int((tmp_path / "bg.pid").read_text())
    assert pid in result.leftover_pids
    assert gone(pid)


def test_daemon_with_cleared_process_group_is_found_by_tag(tmp_path: Path) -> None:
    (tmp_path / "daemon.py").write_text(
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
        "open('d.pid', 'w').write(str(p.pid))\n"
    )
    cmd = f"{sys.executable} daemon.py"
    result = run(tmp_path, cmd)
    assert result.exit_code == 0
    assert gone(int((tmp_path / "d.pid").read_text()))


def test_a_signal_during_wait_never_wedges_the_teardown(tmp_path: Path) -> None:
    """SIGTERM/Ctrl-C can interrupt Popen.wait right after it took its internal lock, leaking it; the teardown
    must still reap the process and return (it used to block forever in Popen.wait)."""
    import subprocess

    from remoroo.exec.process import kill_tree

    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    assert proc._waitpid_lock.acquire(False)  # the state a KeyboardInterrupt inside wait() leaves behind
    started = time.monotonic()
    kill_tree(proc, tag="no-such-tag", seen={}, grace_s=0.2)
    assert time.monotonic() - started < 8
    assert proc.returncode is not None and gone(proc.pid)
