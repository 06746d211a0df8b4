"""Every run ends true: odd repositories, bugs, Ctrl-C, a stalled brain, and delivery of what was verified."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import FIB, FIB_PLAN, cli, edit, git_init, latest_run, write_files
from fakes import ListBrain

from remoroo.brain import make_client
from remoroo.errors import PatchRejected
from remoroo.evidence.events import InternalFailed, parse_event
from remoroo.loop import turn as turn_stage
from remoroo.loop.engine import run
from remoroo.model.config import RunConfig
from remoroo.model.patch import Edit, PatchProposal
from remoroo.patch.apply import apply_edits
from remoroo.protocol.client import BrainClient
from remoroo.protocol.wire import PatchResponse, PlanResponse, in_process

FIX = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")


def events_of(run_dir: Path) -> list:
    return [parse_event(line) for line in (run_dir / "events.ndjson").read_text().splitlines()]


def test_odd_repository_contents_are_skipped_with_a_note_never_a_crash(tmp_path: Path, script) -> None:
    repo = write_files(tmp_path / "odd", FIB)
    os.mkfifo(repo / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(repo / "control.sock"))
    weird = os.fsencode(str(repo)) + b"/caf\xe9.txt"  # a Latin-1 name: not UTF-8
    with open(weird, "wb") as handle:
        handle.write(b"data\n")
    os.symlink("fib.py", repo / "link.py")
    os.symlink("/nonexistent/target", repo / "dangling")
    (repo / "big.bin").write_bytes(os.urandom(1024) * 20_000)  # 20 MB, carried as it is
    try:
        done = cli("run", str(repo), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain",
                   f"scripted:{script([FIB_PLAN], [FIX])}", "--keep-work")
    finally:
        server.close()
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    run_dir = latest_run(repo)
    notes = json.loads((run_dir / "final_report.json").read_text())["notes"]
    assert len(notes) == 1 and "left out 3 path(s)" in notes[0], notes
    assert "pipe (a named pipe (FIFO), not a file)" in notes[0] and "control.sock (a socket" in notes[0]
    assert "caf\ufffd.txt (its name is not UTF-8)" in notes[0]
    work = run_dir / "work"
    assert os.readlink(work / "link.py") == "fib.py" and os.readlink(work / "dangling") == "/nonexistent/target"
    assert (work / "big.bin").stat().st_size == 20_480_000


@pytest.mark.parametrize("path", ["fib\x00.py", "fib.py\nmain.py", "   ", "a/" + "x" * 300 + ".py", "fib.py/inner.py",
                                  ".", "sub/.."])
def test_impossible_patch_paths_are_rejected_patches(tmp_path: Path, path: str) -> None:
    root = write_files(tmp_path / "r", FIB)
    with pytest.raises(PatchRejected):
        apply_edits(root, [Edit(path=path, search="", replace="x = 1\n")])
    assert sorted(p.name for p in root.iterdir()) == sorted(FIB)


def test_a_nul_byte_path_from_the_brain_is_a_malformed_answer_then_the_run_goes_on(fib_repo: Path, script) -> None:
    nul = {"edits": [{"path": "fib\u0000.py", "search": "", "replace": "x = 1\n"}]}
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain",
               f"scripted:{script([FIB_PLAN], [nul, FIX])}")
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads((latest_run(fib_repo) / "final_report.json").read_text())
    assert report["outcome"] == "SUCCESS" and report["turns"][-1]["decision"] == "KEPT"
    rejected = [e for e in events_of(latest_run(fib_repo)) if e.event == "patch_rejected"]
    assert rejected and "control characters" in rejected[0].messages[0]


def two_targets_repo(tmp_path: Path) -> Path:
    """score.txt holds two numbers; the goal wants both >= 5, and each turn raises one."""
    return write_files(tmp_path / "two", {
        "main.py": "a, b = open('score.txt').read().split()\nprint(f'a={a}')\nprint(f'b={b}')\n",
        "score.txt": "1 1\n",
    })


TWO_PLAN = {
    "commands": [{"name": "main", "run": "python3 main.py", "timeout_s": 30}],
    "instrumentation": [{"metric": "a", "source": "stdout", "command": "main", "pattern": r"a=(\d+)"},
                        {"metric": "b", "source": "stdout", "command": "main", "pattern": r"b=(\d+)"}],
    "patch_intents": [{"description": "raise the scores", "files": ["score.txt"]}],
}


def two_brain() -> ListBrain:
    raise_a = PatchProposal(edits=[Edit(path="score.txt", search="1 1", replace="9 1")], rationale="raise a")
    raise_b = PatchProposal(edits=[Edit(path="score.txt", search="9 1", replace="9 9")], rationale="raise b")
    return ListBrain(plans=[PlanResponse.model_validate({"plan": TWO_PLAN})],
                     patches=[PatchResponse(proposals=[raise_a]), PatchResponse(proposals=[raise_b])])


def two_config(repo: Path) -> RunConfig:
    return RunConfig(repo=repo, goal="raise both", metrics="a >= 5, b >= 5", editable=["score.txt"],
                     sandbox="off", max_turns=4)


@pytest.mark.parametrize("fault", [RuntimeError("a bug in a stage"), KeyboardInterrupt()])
def test_a_bug_or_ctrl_c_in_a_later_turn_keeps_the_verified_progress(tmp_path: Path, monkeypatch,
                                                                    fault: BaseException) -> None:
    repo = two_targets_repo(tmp_path)
    real = turn_stage.run_turn

    def second_turn_fails(ctx, setup, progress, turn):
        if turn == 2:
            raise fault
        return real(ctx, setup, progress, turn)

    monkeypatch.setattr("remoroo.loop.engine.run_turn", second_turn_fails)
    config = two_config(repo)
    result = run(config, BrainClient(in_process(two_brain()), name="list", budgets=config.budgets()))
    # turn 1 met one target that was not met at baseline; verified on a fresh copy, that is the outcome
    assert result.outcome == "PARTIAL_SUCCESS", result.reason
    stopped = "cancelled by the user" if isinstance(fault, KeyboardInterrupt) else "internal error: RuntimeError"
    assert f"(stopped: {stopped}" in result.reason
    assert "9 1" in (result.run_dir / "final_patch.diff").read_text()
    events = events_of(result.run_dir)
    assert [e.event for e in events if e.event == "verification"] == ["verification"]
    if isinstance(fault, RuntimeError):
        trace = (result.run_dir / "internal_error.txt").read_text()
        assert "Traceback" in trace and "a bug in a stage" in trace and "second_turn_fails" in trace
        assert any(isinstance(e, InternalFailed) for e in events)
        report = (result.run_dir / "final_report.md").read_text()
        assert "internal error (a bug in remoroo): RuntimeError: a bug in a stage" in report
        assert "Traceback" not in report


def test_a_bug_before_any_progress_still_ends_fail_with_a_report(tmp_path: Path, monkeypatch) -> None:
    repo = two_targets_repo(tmp_path)

    def broken(*args, **kwargs):
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    monkeypatch.setattr("remoroo.loop.engine.prepare", broken)
    config = two_config(repo)
    result = run(config, BrainClient(in_process(two_brain()), name="list", budgets=config.budgets()))
    assert result.outcome == "FAIL" and result.reason.startswith("internal error: UnicodeDecodeError")
    assert (result.run_dir / "final_report.md").is_file() and (result.run_dir / "internal_error.txt").is_file()
    assert not (result.run_dir / "run.pid").exists()


class Stalling(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        time.sleep(30)

    def log_message(self, *args: object) -> None:
        return


def test_the_run_deadline_bounds_a_stalled_brain_service(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        repo = two_targets_repo(tmp_path)
        config = RunConfig(repo=repo, goal="g", metrics="a >= 5", sandbox="off", timeout_s=3)
        client = make_client(f"http://127.0.0.1:{server.server_address[1]}", budgets=config.budgets())
        started = time.monotonic()
        result = run(config, client)
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert took < 10, took  # the service would stall for 30 s per call, with retries
    assert result.outcome == "FAIL" and "brain error" in result.reason and "did not answer" in result.reason
    assert not [e for e in events_of(result.run_dir) if e.event == "judge"]  # no judge after a brain error


def test_apply_delivers_the_instrumentation_and_the_fix_that_were_verified(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "inst", {
        "score.py": "def predict(x):\n    return x > 2\n\n\nxs = [1, 2, 3, 4]\nys = [False, True, True, True]\n"
                    "acc = sum(predict(x) == y for x, y in zip(xs, ys)) / len(xs)\nprint('scored')\n"})
    git_init(repo)
    plan = {"commands": [{"name": "score", "run": "python3 score.py"}],
            "instrumentation": [{"metric": "acc", "source": "emit", "command": "score"}],
            "patch_intents": [{"description": "fix the threshold", "files": ["score.py:predict"]}]}
    brain = tmp_path / "inst.json"
    brain.write_text(json.dumps({
        "plans": [plan],
        "instrument": {"edits": [{"path": "score.py", "search": "print('scored')\n",
                                  "replace": "print('scored')\nimport remoroo\nremoroo.emit('acc', acc)\n"}]},
        "patches": [edit("score.py", "    return x > 2\n", "    return x > 1\n")]}))
    done = cli("run", str(repo), "--goal", "g", "--metrics", "acc >= 0.9", "--brain", f"scripted:{brain}")
    assert done.returncode == 0, done.stderr + done.stdout
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(repo), str(clean)], check=True)
    runs = repo / ".remoroo"
    subprocess.run(["cp", "-r", str(runs), str(clean / ".remoroo")], check=True)
    applied = cli("apply", "latest", "--repo", str(clean))
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert "instrumentation.diff then final_patch.diff" in applied.stdout
    text = (clean / "score.py").read_text()
    assert "return x > 1" in text and "remoroo.emit('acc', acc)" in text
    # the verified change, run on the clean clone, gives the verified metric
    ran = subprocess.run(["python3", "score.py"], cwd=clean, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    assert ran.returncode == 0, ran.stderr
    # without the instrumentation: the fix alone applies here, and the file carries no emit
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(repo), str(other)], check=True)
    subprocess.run(["cp", "-r", str(runs), str(other / ".remoroo")], check=True)
    alone = cli("apply", "latest", "--repo", str(other), "--without-instrumentation")
    assert alone.returncode == 0, alone.stderr + alone.stdout
    assert "return x > 1" in (other / "score.py").read_text() and "emit" not in (other / "score.py").read_text()


def test_a_crash_outside_a_run_is_one_line_and_a_file(tmp_path: Path) -> None:
    runs = tmp_path / "r" / ".remoroo" / "runs" / "x"
    runs.mkdir(parents=True)
    (runs / "final_report.json").write_text("{not json")
    done = cli("show", "x", "--repo", str(tmp_path / "r"))
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", sorted(p.parent.name for p in EXAMPLES.glob("*/case.json")
                                        if json.loads(p.read_text()).get("expected_outcome") == "success"))
def test_every_example_s_result_applies_to_a_clean_copy(tmp_path: Path, name: str) -> None:
    import shutil

    example = tmp_path / name
    shutil.copytree(EXAMPLES / name, example, ignore=shutil.ignore_patterns(".remoroo", "leaderboard.*"))
    done = cli("run", "--case", str(example / "case.json"), "--brain", "search", "--yes", timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    run_dir = latest_run(example / "repo")
    clean = tmp_path / "clean"
    shutil.copytree(EXAMPLES / name / "repo", clean, ignore=shutil.ignore_patterns(".remoroo"))
    shutil.copytree(example / "repo" / ".remoroo", clean / ".remoroo")
    applied = cli("apply", "latest", "--repo", str(clean))
    assert applied.returncode == 0, applied.stderr + applied.stdout
    # exactly what was verified is there now: every part, in turn, reverses cleanly
    parts = [p for p in (run_dir / "instrumentation.diff", run_dir / "final_patch.diff") if p.is_file()]
    assert parts and (run_dir / "final_patch.diff").read_text().strip()
    for part in reversed(parts):
        back = subprocess.run(["git", "apply", "-R", "--whitespace=nowarn", "-"], cwd=clean,
                              input=part.read_text(), capture_output=True, text=True)
        assert back.returncode == 0, (part.name, back.stderr)
    original = {p.relative_to(EXAMPLES / name / "repo"): p.read_bytes()
                for p in (EXAMPLES / name / "repo").rglob("*") if p.is_file() and ".remoroo" not in p.parts}
    assert {p: (clean / p).read_bytes() for p in original} == original


def test_the_user_sees_the_validated_plan_s_commands_before_anything_runs(tmp_path: Path) -> None:
    repo = two_targets_repo(tmp_path)
    config = two_config(repo)
    seen: list[list[str]] = []

    def decline(plan) -> bool:
        seen.append([c.run for c in plan.commands])
        return False

    result = run(config, BrainClient(in_process(two_brain()), name="list", budgets=config.budgets()), confirm=decline)
    assert seen == [["python3 main.py"]]
    assert result.outcome == "FAIL" and "declined" in result.reason
    assert not (result.run_dir / "turns" / "0" / "logs").exists()  # nothing ran
    assert "## Outcome: FAIL" in (result.run_dir / "final_report.md").read_text()
