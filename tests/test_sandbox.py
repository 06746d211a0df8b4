"""Containment: every measured command runs sealed in bubblewrap, and nothing outlives it.

Each test is one escape a creative candidate tried; the program under measurement
attempts it for real, with real bubblewrap and real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from conftest import FIB_PLAN, ROOT, cli, edit, git_init, latest_run, marked, wait_gone, wait_marked, write_files

from remoroo.exec import sandbox as sb
from remoroo.exec.sandbox import Limits, Sandbox
from remoroo.measure.commands import Environment
from remoroo.measure.once import Measurement, measure
from remoroo.measure.shim import write_shim
from remoroo.model.plan import Plan

pytestmark = pytest.mark.skipif(sb.check() is not None, reason=f"no sandbox here: {sb.check()}")
SECRET = "sk-test-" + "a1b2c3d4" * 4


class Bench:
    """A user's repository with a run folder inside it, measured the way the engine measures."""

    def __init__(self, base: Path, files: dict[str, str], limits: Limits | None = None) -> None:
        self.repo = write_files(base / "repo", files)
        self.home = base / "home"
        write_files(self.home, {".ssh/id_rsa": "PRIVATE KEY\n", ".cache/answer": "42\n"})
        self.run = self.repo / ".remoroo" / "runs" / "r1"
        self.tree = self.run / "work"
        shutil.copytree(self.repo, self.tree, ignore=shutil.ignore_patterns(".remoroo"))
        self.shim = write_shim(self.run / "shim")
        self.env = Environment(
            base_env={**os.environ, "OPENAI_API_KEY": SECRET, "MY_TOKEN": SECRET, "HOME": str(self.home)},
            shim_dir=str(self.shim), grace_s=0.3,
            sandbox=Sandbox(hidden=[str(self.repo), str(self.run)], limits=limits or Limits()))
        self.count = 0

    def measure(self, run: str = "python3 main.py", timeout: float = 20, protected: list[str] | None = None,
                metrics: tuple[str, ...] = ("runtime_s",)) -> Measurement:
        self.count += 1
        plan = Plan.model_validate({"commands": [{"name": "main", "run": run, "timeout_s": timeout}],
                                    "instrumentation": [{"metric": "runtime_s", "source": "probe",
                                                         "probe": "runtime_s"}],
                                    "protected_paths": protected or []})
        return measure(plan, list(metrics), self.tree, self.run / "logs" / str(self.count), self.env,
                       time.monotonic() + timeout + 30)

    def stdout(self, m: Measurement) -> str:
        return Path(m.commands[0].stdout_log).read_text()


def program(body: str) -> dict[str, str]:
    return {"main.py": "import os, sys, json, time, socket, subprocess\n" + textwrap.dedent(body)}


@pytest.fixture(params=["tmp", "checkout"])
def base(request: pytest.FixtureRequest, tmp_path: Path):
    """The repository under /tmp (empty in the sandbox anyway) and beside the project, a folder that stays visible."""
    if request.param == "tmp":
        yield tmp_path
        return
    folder = ROOT / ".sandbox-tests" / uuid.uuid4().hex[:8]
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with __import__("contextlib").suppress(OSError):
            (ROOT / ".sandbox-tests").rmdir()


def test_code_cannot_write_into_the_users_repository(base: Path) -> None:
    bench = Bench(base, program("""
        hits = []
        targets = [sys.argv[1]]
        here = os.getcwd()
        while here != "/":  # walk up from the working folder, as the candidate did
            targets.append(here)
            here = os.path.dirname(here)
        for folder in targets:
            try:
                with open(os.path.join(folder, "ESCAPED.txt"), "w") as handle:
                    handle.write("x")
                hits.append(folder)
            except OSError:
                pass
        print("wrote", hits)
    """))
    m = bench.measure(f"python3 main.py {bench.repo}")
    assert m.commands[0].exit_code == 0, m.commands[0].stderr_tail
    escaped = [p for p in bench.repo.rglob("ESCAPED.txt") if bench.tree not in p.parents]
    assert escaped == [], "a measured program wrote into the user's repository"
    assert f"'{bench.repo}'" not in bench.stdout(m)
    # the only place it could write is its own tree (and the fresh HOME/tmp that vanish)
    assert "wrote ['/project']" in bench.stdout(m)


def test_code_cannot_see_or_write_the_run_folder_or_the_helper(base: Path) -> None:
    bench = Bench(base, program("""
        import remoroo
        helper = os.path.dirname(os.path.dirname(remoroo.__file__))
        report = {"helper": helper}
        for path in (helper + "/sitecustomize.py", remoroo.__file__, sys.argv[1] + "/shim/sitecustomize.py"):
            try:
                with open(path, "a") as handle:
                    handle.write("\\nprint('fib_10=55')\\n")
                report[path] = "written"
            except OSError as exc:
                report[path] = type(exc).__name__
        report["run_folder_visible"] = os.path.exists(sys.argv[1])
        report["repo_contents"] = os.listdir(sys.argv[2]) if os.path.exists(sys.argv[2]) else []
        print(json.dumps(report))
    """))
    before = (bench.shim / "sitecustomize.py").read_text()
    m = bench.measure(f"python3 main.py {bench.run} {bench.repo}")
    report = json.loads(bench.stdout(m))
    assert report["helper"] == sb.HELPERS
    assert "written" not in report.values()
    # at most an empty, read-only folder stands where the repository is (when its parent is visible)
    assert report["run_folder_visible"] is False and report["repo_contents"] == []
    assert (bench.shim / "sitecustomize.py").read_text() == before


def test_no_state_is_carried_between_measurements(base: Path) -> None:
    bench = Bench(base, program("""
        found = []
        places = [os.path.expanduser("~/.cache/memo"), "/tmp/memo", "/var/tmp/memo", "/dev/shm/memo"]
        for path in places:
            if os.path.exists(path):
                found.append(path)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as handle:
                    handle.write("cached")
            except OSError:
                pass
        answer = os.path.exists(os.path.expanduser("~/.cache/answer"))
        print("found", found, "home", os.environ["HOME"], "answer", answer)
    """))
    first, second = bench.measure(), bench.measure()
    assert bench.stdout(first).startswith("found [] home /home/user answer False")
    assert bench.stdout(second).startswith("found [] home /home/user answer False"), "state survived"
    assert not (bench.home / ".cache" / "memo").exists() and not Path("/tmp/memo").exists()


def test_a_double_forked_setsid_daemon_with_a_cleared_environment_dies(base: Path) -> None:
    marker = f"{time.time() % 1000:.6f}"
    bench = Bench(base, program(f"""
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execve("/bin/sleep", ["/bin/sleep", "{marker}"], {{}})
            os._exit(0)
        print("parent done", flush=True)
    """))
    m = bench.measure(timeout=2)
    run = m.commands[0]
    assert run.timed_out and run.failure and "still running" in run.failure and "sleep" in run.failure
    assert wait_gone(marker, 0.5) == [], "the daemon outlived the measurement"


def test_work_done_by_a_child_after_its_parent_exits_is_timed_to_the_end(base: Path) -> None:
    bench = Bench(base, program("""
        if os.fork() == 0:
            time.sleep(1.0)
            print("child finished", flush=True)
            os._exit(0)
        print("parent exits at once", flush=True)
    """))
    m = bench.measure()
    assert m.commands[0].exit_code == 0
    assert m.metrics["runtime_s"] >= 1.0, m.metrics
    assert "child finished" in bench.stdout(m)


def test_secrets_and_the_users_environment_are_not_passed(base: Path) -> None:
    bench = Bench(base, program("""
        print(json.dumps(dict(os.environ)))
    """))
    m = bench.measure()
    env = json.loads(bench.stdout(m))
    assert SECRET not in json.dumps(env)
    assert "OPENAI_API_KEY" not in env and "MY_TOKEN" not in env
    assert env["HOME"] == "/home/user" and env["PATH"] == os.environ["PATH"]
    assert not any(k.startswith("REMOROO") for k in env), env
    assert not any(".remoroo" in v or str(bench.repo) in v for v in env.values()), env


def test_a_program_gets_the_same_fingerprint_at_baseline_candidate_and_final_verification(tmp_path: Path,
                                                                                            script) -> None:
    main = ("import hashlib, os, sys\nfrom fib import fib\n"
            "seen = [os.getcwd(), sys.executable, repr(sys.path), repr(sorted(os.environ.items())),"
            " os.path.abspath(__file__), repr(sorted(os.listdir('/')))]\n"
            "print('fp=' + hashlib.sha256(repr(seen).encode()).hexdigest())\n"
            "print(f'fib_10={fib(10)}')\n")
    repo = write_files(tmp_path / "fib", {"fib.py": "def fib(n):\n    a, b = 0, 1\n    for _ in range(n - 1):\n"
                                                    "        a, b = b, a + b\n    return a\n", "main.py": main})
    git_init(repo)
    brain = script([FIB_PLAN], [edit("fib.py", "range(n - 1)", "range(n)")])
    done = cli("run", str(repo), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain", f"scripted:{brain}")
    assert done.returncode == 0, done.stdout + done.stderr
    run = latest_run(repo)
    logs = [p for p in run.rglob("main.stdout.log")]
    prints = {p.relative_to(run).parent.as_posix(): p.read_text().split()[0] for p in logs}
    # turns/0 is the baseline, turns/1 the candidate, verify-logs the final verification on a fresh copy
    assert {"turns/0/logs", "turns/1/logs", "verify-logs"} <= set(prints), prints
    assert len(set(prints.values())) == 1, prints


def test_no_outside_network_only_loopback(base: Path) -> None:
    bench = Bench(base, program("""
        import errno
        names = [name for _, name in socket.if_nameindex()]
        routes = open("/proc/net/route").read().strip().splitlines()[1:]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.connect(("192.0.2.1", 9))  # a UDP connect sends nothing: it only looks up a route
            outside = "route found"
        except OSError as exc:
            outside = errno.errorcode.get(exc.errno, str(exc))
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.create_connection(server.getsockname())
        print(json.dumps({"interfaces": names, "routes": routes, "outside": outside, "loopback": "ok"}))
    """))
    report = json.loads(bench.stdout(bench.measure()))
    assert report == {"interfaces": ["lo"], "routes": [], "outside": "ENETUNREACH", "loopback": "ok"}


def test_a_command_that_needs_the_network_fails_with_a_witness_that_says_so(base: Path) -> None:
    bench = Bench(base, program("""
        if [name for _, name in socket.if_nameindex()] != ["lo"]:
            sys.exit("not sealed: refusing to touch the network")
        import urllib.request
        urllib.request.urlopen("http://192.0.2.1/data.csv", timeout=2)
    """))
    m = bench.measure()
    run = m.commands[0]
    assert run.exit_code != 0 and "not sealed" not in run.stderr_tail
    assert any("needed the network" in note and "loopback" in note for note in run.notes), run.notes


def test_no_capabilities_so_mounts_cannot_be_undone(base: Path) -> None:
    bench = Bench(base, program("""
        caps = [line.split()[1] for line in open("/proc/self/status") if line.startswith("CapEff")][0]
        tries = {}
        for args in (["mount", "-o", "remount,rw", "/usr"], ["umount", "/tmp"], ["mount", "-o", "remount,rw", "/"]):
            tries[" ".join(args)] = subprocess.run(args, capture_output=True).returncode
        print(json.dumps({"caps": caps, "tries": tries}))
    """))
    report = json.loads(bench.stdout(bench.measure()))
    assert int(report["caps"], 16) == 0
    assert all(code != 0 for code in report["tries"].values()), report


def test_protected_files_are_read_only_at_run_time(base: Path) -> None:
    files = program("""
        results = {}
        for path in ("tests/test_fib.py", "data/input.csv", "fib.py"):
            try:
                with open(path, "a") as handle:
                    handle.write("# changed at run time\\n")
                results[path] = "written"
            except OSError as exc:
                results[path] = type(exc).__name__
        try:
            os.remove("tests/test_fib.py")
            results["remove"] = "removed"
        except OSError as exc:
            results["remove"] = type(exc).__name__
        print(json.dumps(results))
    """)
    files.update({"tests/test_fib.py": "def test_x():\n    assert True\n", "data/input.csv": "a,b\n1,2\n",
                  "fib.py": "x = 1\n"})
    bench = Bench(base, files)
    bench.env = bench.env.model_copy(update={"inputs": ["data/input.csv"]})  # what the baseline read
    report = json.loads(bench.stdout(bench.measure()))
    assert report["tests/test_fib.py"] == "OSError" and report["data/input.csv"] == "OSError"
    assert report["remove"] in ("OSError", "PermissionError")
    assert report["fib.py"] == "written"  # code the candidate may change stays writable
    assert (bench.tree / "tests" / "test_fib.py").read_text() == "def test_x():\n    assert True\n"


def test_logs_are_capped_with_a_note_and_the_tail_kept(base: Path) -> None:
    bench = Bench(base, program("""
        for _ in range(3 * 1024):
            sys.stdout.write("y" * 1023 + "\\n")
        print("accuracy=0.93")
    """), limits=Limits(log_mb=1))
    m = bench.measure()
    log = Path(m.commands[0].stdout_log)
    assert log.stat().st_size < 1.1 * 2**20
    assert log.read_text().rstrip().endswith("accuracy=0.93")
    assert "bytes cut here" in log.read_text()
    assert any("cut from the middle" in note for note in m.commands[0].notes)


def test_the_memory_limit_kills_the_tree_with_a_clear_reason(base: Path) -> None:
    bench = Bench(base, program("""
        hog = []
        for _ in range(60):
            hog.append(bytearray(16 * 2**20))
            time.sleep(0.02)
        print("survived")
    """), limits=Limits(memory_mb=200))
    run = bench.measure().commands[0]
    assert not run.ok and run.failure and "memory" in run.failure and "200 MB" in run.failure
    assert "survived" not in Path(run.stdout_log).read_text()


def test_kill_9_of_the_engine_mid_measurement_leaves_nothing_running(tmp_path: Path, script) -> None:
    marker = f"spin{uuid.uuid4().hex[:10]}"
    spin = (f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'while True: pass', '{marker}'])\n"
            f"while True:\n    pass\n")
    repo = write_files(tmp_path / "spin", {"main.py": spin, "fib.py": "x = 1\n"})
    git_init(repo)
    plan = {**FIB_PLAN, "commands": [{"name": "main", "run": f"python3 main.py {marker}", "timeout_s": 120}]}
    brain = script([plan], [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")}
    proc = subprocess.Popen([sys.executable, "-m", "remoroo.cli", "run", str(repo), "--goal", "fix", "--metrics",
                             "fib_10 == 55", "--brain", f"scripted:{brain}", "--yes"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert len(wait_marked(marker, 2, 60)) >= 2, "the measurement never started"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        assert wait_gone(marker, 2.0) == [], "processes of the measurement outlived the engine's kill -9"
    finally:
        for left in marked(marker):
            left.kill()
        if proc.poll() is None:
            proc.kill()


def test_a_missing_bwrap_exits_2_naming_the_install_and_sandbox_off(fib_repo: Path, script) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")}
    env["PATH"] = "/nonexistent"
    done = subprocess.run([sys.executable, "-m", "remoroo.cli", "run", str(fib_repo), "--goal", "fix",
                           "--metrics", "fib_10 == 55", "--brain", f"scripted:{script([FIB_PLAN], [])}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "apt-get install bubblewrap" in done.stderr and "--sandbox off" in done.stderr
    assert not (fib_repo / ".remoroo" / "runs").exists()


def test_sandbox_off_runs_and_the_report_says_unsandboxed(fib_repo: Path, script) -> None:
    brain = script([FIB_PLAN], [edit("fib.py", "range(n - 1)", "range(n)")])
    done = cli("run", str(fib_repo), "--goal", "fix", "--metrics", "fib_10 == 55", "--brain", f"scripted:{brain}",
               "--sandbox", "off")
    assert done.returncode == 0, done.stdout + done.stderr
    md = (latest_run(fib_repo) / "final_report.md").read_text()
    assert "**unsandboxed**" in md.split("## Outcome")[0]
    sealed = cli("run", str(fib_repo), "--goal", "fix", "--metrics", "fib_10 == 55", "--brain", f"scripted:{brain}")
    assert sealed.returncode == 0
    assert "unsandboxed" not in (latest_run(fib_repo) / "final_report.md").read_text()


def test_doctor_says_what_the_sandbox_can_do() -> None:
    done = cli("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    for expected in ("bubblewrap", "read-only", "own PID namespace", "loopback only"):
        assert expected in done.stdout


def test_the_helper_records_what_the_program_reads_and_writes(base: Path) -> None:
    bench = Bench(base, {**program("""
        import subprocess
        open("inputs/a.txt").read()
        with open("out/result.txt", "w") as handle:
            handle.write("x")
        os.makedirs("cache", exist_ok=True)
        fd = os.open("cache/c.bin", os.O_WRONLY | os.O_CREAT)
        os.close(fd)
        subprocess.run([sys.executable, "-c", "open('inputs/b.txt').read()"], check=True)
        print("done")
    """), "inputs/a.txt": "1\n", "inputs/b.txt": "2\n", "out/.keep": ""})
    m = bench.measure()
    assert m.code_runs, m.commands[0].stderr_tail
    assert m.inputs == ["inputs/a.txt", "inputs/b.txt"]  # a child's reads too; code and bytecode are left out
    assert m.written == ["cache/c.bin", "out/result.txt"]
    assert m.output == {"main": ["done"]}


def test_the_helper_is_valid_python_and_records_who_printed_a_metric(base: Path) -> None:
    from remoroo.measure.shim import SITECUSTOMIZE

    compile(SITECUSTOMIZE, "sitecustomize.py", "exec")  # a broken helper would silently observe nothing
    bench = Bench(base, {**program("""
        import lib
        print("score=" + str(lib.value()))
        lib.shout()
    """), "lib.py": "def value():\n    return 3\n\n\ndef shout():\n    print('other=1')\n"})
    plan = Plan.model_validate({"commands": [{"name": "main", "run": "python3 main.py"}], "instrumentation": [
        {"metric": "score", "source": "stdout", "command": "main", "pattern": r"score=(\d+)"}]})
    m = measure(plan, ["score"], bench.tree, bench.run / "logs" / "p", bench.env, time.monotonic() + 30)
    assert m.metrics == {"score": 3} and m.matched == {"score": "score=3"}
    assert m.printed == {"score=3": ["main.py:<module>"]}  # other=1 matches no pattern: not recorded
