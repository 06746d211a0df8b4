"""End-to-end: the real CLI in a subprocess, on real git repos, with scripted brains."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import psutil
from conftest import FIB_PLAN, cli, edit, git_init, latest_run, wait_gone, wait_marked, write_files

from remoroo.evidence.report import parse_outcome

WORSE = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n - 2):\n")
FIX = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")
NOOP = edit("fib.py", "    a, b = 0, 1\n", "    a, b = (0, 1)\n")


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".remoroo" not in p.relative_to(root).parts
    }


def report_of(repo: Path) -> tuple[dict, str]:
    run_dir = latest_run(repo)
    md = (run_dir / "final_report.md").read_text()
    return json.loads((run_dir / "final_report.json").read_text()), md


def run_fib(repo: Path, brain: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("run", str(repo), "--goal", "Fix fib so fib(10) is right", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{brain}", *extra)


def test_second_patch_fixes_the_bug_success(fib_repo: Path, script, tmp_path: Path) -> None:
    before = tree_digest(fib_repo)
    brain = script([FIB_PLAN], [WORSE, FIX])
    done = run_fib(fib_repo, brain, "--max-turns", "5")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "SUCCESS" in done.stdout and "final_report.md" in done.stdout
    report, md = report_of(fib_repo)
    assert report["outcome"] == "SUCCESS" and parse_outcome(md) == "SUCCESS"
    row = report["metrics"][0]
    assert (row["metric"], row["baseline"], row["turns"], row["final"], row["met"]) == (
        "fib_10", 34, {"1": 21, "2": 55}, 55, True)
    assert [t["decision"] for t in report["turns"]] == ["REVERTED", "KEPT"]
    assert all(t["duration_s"] > 0 for t in report["turns"])
    assert "| fib_10 | `fib_10 == 55` | 34 | 21 | 55 | 55 | yes |" in md
    # the user's repository is untouched; the run only wrote .remoroo/
    assert tree_digest(fib_repo) == before
    assert not (latest_run(fib_repo) / "work").exists()
    # final_patch.diff applies to a fresh copy and yields the metric
    fresh = tmp_path / "fresh"
    shutil.copytree(fib_repo, fresh, ignore=shutil.ignore_patterns(".remoroo", ".git"))
    git_init(fresh)
    diff = (latest_run(fib_repo) / "final_patch.diff").read_text()
    subprocess.run(["git", "-C", str(fresh), "apply", "-"], input=diff, text=True, check=True)
    out = subprocess.run(["python3", "main.py"], cwd=fresh, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "fib_10=55"


def test_never_improving_patches_end_fail_by_stagnation(fib_repo: Path, script) -> None:
    brain = script([FIB_PLAN], [WORSE, NOOP, WORSE, NOOP, WORSE, NOOP, WORSE, NOOP])
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{brain}", "--max-turns", "8")
    assert done.returncode == 1, done.stderr
    report, md = report_of(fib_repo)
    assert parse_outcome(md) == "FAIL"
    assert "stagnation" in report["reason"]
    # 3 stagnant turns, a replan, 3 more stagnant turns: within the budget of 8
    assert len(report["turns"]) == 6
    assert all(t["decision"] == "REVERTED" for t in report["turns"])
    assert (latest_run(fib_repo) / "final_patch.diff").read_text() == ""


def test_readme_only_patches_never_succeed(fib_repo: Path, script) -> None:
    docs = edit("README.md", "# fib\n", "# fib\n\nfib(10) is now 55.\n")
    brain = script([FIB_PLAN], [docs, docs, docs, docs])
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{brain}", "--max-turns", "4")
    assert done.returncode == 1
    report, md = report_of(fib_repo)
    assert parse_outcome(md) == "FAIL"
    assert {t["decision"] for t in report["turns"]} == {"REVERTED"}
    assert all("documentation-only" in t["reason"] for t in report["turns"])


HANG = """\
import os, signal, subprocess, sys, time
code = (
    "import os, signal, sys, time\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "os.setsid()\\n"
    "if os.fork():\\n    os._exit(0)\\n"
    "while True:\\n    time.sleep(0.2)\\n"
)
subprocess.Popen([sys.executable, "-c", code, sys.argv[1]])
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(0.2)
"""


def test_hanging_command_with_escaped_grandchild_ends_on_time(tmp_path: Path, script) -> None:
    repo = write_files(tmp_path / "hang", {"hang.py": HANG})
    marker = f"hang-{time.time_ns()}"
    plan = {
        "commands": [{"name": "hang", "run": f"python3 hang.py {marker}", "timeout_s": 2}],
        "instrumentation": [{"metric": "code_runs", "source": "probe", "probe": "code_runs", "command": "hang"}],
    }
    brain = script([plan], [edit("hang.py", "    time.sleep(0.2)\n", "    time.sleep(0.1)\n")])
    started = time.monotonic()
    done = cli("run", str(repo), "--goal", "make it finish", "--metrics", "code_runs == true",
               "--brain", f"scripted:{brain}", "--max-turns", "1", "--timeout", "20")
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert elapsed < 15, elapsed
    assert wait_gone(marker, 5) == [], "the setsid, SIGTERM-ignoring grandchild survived"
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if "hang.py" in " ".join(p.info["cmdline"] or [])]
    assert not [p for p in leftovers if _alive(p.pid)]
    report, md = report_of(repo)
    assert parse_outcome(md) == "FAIL"
    assert report["turns"][0]["decision"] == "REVERTED" and "timed out" in report["turns"][0]["reason"]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_malformed_inputs_exit_2_with_one_line_reason(tmp_path: Path, fib_repo: Path, script) -> None:
    brain = script([FIB_PLAN], [])
    bad_case = write_files(tmp_path / "badcase", {"case.json": '{"case_id": "x", "goal": 3'})
    no_repo_case = write_files(tmp_path / "norepo", {"case.json": json.dumps(
        {"case_id": "x", "repo_path": "missing", "goal": "g", "metrics": "a == 1"})})
    attempts = {
        "spec": ["run", str(fib_repo), "--goal", "g", "--metrics", "fib_10 = 55", "--brain", f"scripted:{brain}"],
        "spec-unit": ["run", str(fib_repo), "--goal", "g", "--metrics", "t < 5 parsecs",
                      "--brain", f"scripted:{brain}"],
        "case-json": ["run", "--case", str(bad_case)],
        "case-repo": ["run", "--case", str(no_repo_case)],
        "missing-repo": ["run", str(tmp_path / "nope"), "--goal", "g", "--metrics", "a == 1"],
        "brain-file": ["run", str(fib_repo), "--goal", "g", "--metrics", "a == 1", "--brain", "scripted:/nope.json"],
    }
    for name, args in attempts.items():
        done = cli(*args)
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, done.stderr)
    assert not (fib_repo / ".remoroo").exists(), "bad input must not start a run"


def test_show_and_apply(fib_repo: Path, script) -> None:
    brain = script([FIB_PLAN], [FIX])
    assert run_fib(fib_repo, brain).returncode == 0
    shown = cli("show", "latest", "--repo", str(fib_repo))
    assert shown.returncode == 0 and "SUCCESS" in shown.stdout and "fib_10" in shown.stdout
    as_json = json.loads(cli("show", "latest", "--repo", str(fib_repo), "--json").stdout)
    assert as_json["outcome"] == "SUCCESS"
    applied = cli("apply", latest_run(fib_repo).name, "--repo", str(fib_repo))
    assert applied.returncode == 0, applied.stderr
    assert "range(n):" in (fib_repo / "fib.py").read_text()
    again = cli("apply", "latest", "--repo", str(fib_repo))
    assert again.returncode == 2 and "does not apply" in again.stderr


def test_plain_folder_with_uncommitted_state_works(tmp_path: Path, script) -> None:
    from conftest import FIB

    repo = write_files(tmp_path / "plain", FIB)  # not a git repository at all
    brain = script([FIB_PLAN], [FIX])
    done = run_fib(repo, brain)
    assert done.returncode == 0, done.stderr
    assert not (repo / ".git").exists()
    assert (repo / ".remoroo" / ".gitignore").read_text().strip().endswith("*")


def test_partial_success_when_one_target_improves(fib_repo: Path, script) -> None:
    plan = dict(FIB_PLAN, instrumentation=FIB_PLAN["instrumentation"] + [
        {"metric": "runtime_s", "source": "probe", "probe": "runtime_s", "command": "main"}])
    brain = script([plan], [FIX])
    done = cli("run", str(fib_repo), "--goal", "fix fib, instantly", "--metrics",
               "fib_10 == 55, runtime_s < 1us", "--brain", f"scripted:{brain}", "--max-turns", "1")
    assert done.returncode == 3, done.stderr
    report, md = report_of(fib_repo)
    assert parse_outcome(md) == "PARTIAL_SUCCESS"
    assert {r["metric"]: r["met"] for r in report["metrics"]} == {"fib_10": True, "runtime_s": False}


def test_semantic_clause_must_be_resolved(fib_repo: Path, script) -> None:
    brain = script([FIB_PLAN], [FIX])
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55, is correct",
               "--brain", f"scripted:{brain}")
    assert done.returncode == 1
    report, _ = report_of(fib_repo)
    assert "is correct" in report["reason"] and "no valid plan" in report["reason"]
    resolved = dict(FIB_PLAN, resolved_targets=[{"clause": "is correct", "spec": "code_runs == true"}],
                    instrumentation=FIB_PLAN["instrumentation"] + [
                        {"metric": "code_runs", "source": "probe", "probe": "code_runs"}])
    brain = script([resolved], [FIX])
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55, is correct",
               "--brain", f"scripted:{brain}")
    assert done.returncode == 0, done.stderr
    unmeasurable = dict(FIB_PLAN, unmeasurable=[{"clause": "is correct", "reason": "no oracle exists"}])
    brain = script([unmeasurable], [FIX])
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55, is correct",
               "--brain", f"scripted:{brain}")
    assert done.returncode == 1
    report, _ = report_of(fib_repo)
    assert report["reason"].startswith("unmeasurable: 'is correct': no oracle exists")


def test_case_json_run(tmp_path: Path) -> None:
    from conftest import ROOT

    case_dir = tmp_path / "fib_fix"
    shutil.copytree(ROOT / "examples" / "fib_fix", case_dir, ignore=shutil.ignore_patterns(".remoroo"))
    done = cli("run", "--case", str(case_dir / "case.json"), "--brain",
               f"scripted:{case_dir / 'scripted_brain.json'}", "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]  # --json streams every event as NDJSON
    events = [line["event"] for line in lines]
    assert events[0] == "run_started" and "candidate_started" in events and events[-2] == "run_finished"
    assert lines[-1]["event"] == "final_report" and lines[-1]["report"]["outcome"] == "SUCCESS"
    run_json = json.loads((latest_run(case_dir / "repo") / "run.json").read_text())
    assert run_json["config"]["case_id"] == "fib_fix"
    assert run_json["config"]["sources"]["max_turns"] == "cli"
    assert run_json["config"]["sources"]["stagnation_turns"] == "default"


def test_patch_touching_the_metric_artifact_is_vetoed(tmp_path: Path, script) -> None:
    repo = write_files(tmp_path / "art", {"score.py": "import json\njson.dump({'acc': 0.5}, open('out.json', 'w'))\n"})
    git_init(repo)
    plan = {"commands": [{"name": "score", "run": "python3 score.py"}],
            "instrumentation": [{"metric": "acc", "source": "json_artifact", "path": "out.json", "key": "acc"}],
            "protected_paths": ["score.py"]}
    cheat = {"edits": [{"path": "out.json", "search": "", "replace": '{"acc": 0.99}\n'}]}
    cheat2 = edit("score.py", "{'acc': 0.5}", "{'acc': 0.99}")
    brain = script([plan], [cheat, cheat2])
    done = cli("run", str(repo), "--goal", "raise accuracy", "--metrics", "acc >= 0.9", "--brain",
               f"scripted:{brain}", "--max-turns", "2")
    assert done.returncode == 1, done.stderr
    report, md = report_of(repo)
    assert report["reason"].startswith("vetoed: ") and "protected_paths" in report["reason"]
    assert [t["decision"] for t in report["turns"]] == ["VETOED", "VETOED"]
    protected = [a["evidence"]["files"] for a in report["audit"] if a["rule"] == "protected_paths"]
    assert protected == [["out.json"], ["score.py"]]
    assert any(a["rule"] == "literal_metric" and a["evidence"]["hits"][0]["file"] == "score.py"
               for a in report["audit"])
    assert "**protected_paths**" in md
    assert (latest_run(repo) / "audit" / "turn-1-1.json").is_file()


def describe_marked(marker: str) -> list[str]:
    """Every process whose command line names the marker, zombies included: what the failure message shows."""
    seen = []
    for proc in psutil.process_iter(["pid", "ppid", "status", "cmdline", "create_time"]):
        line = " ".join(proc.info["cmdline"] or [])
        if marker in line:
            seen.append(f"{proc.info['pid']}<-{proc.info['ppid']} {proc.info['status']} "
                        f"age {time.time() - proc.info['create_time']:.1f}s: {line[-60:]!r}")
    return seen


def test_sigterm_to_remoroo_cancels_cleanly(tmp_path: Path, script) -> None:
    from conftest import ROOT

    repo = write_files(tmp_path / "hang", {"hang.py": HANG})
    marker = f"hang-{time.time_ns()}"
    plan = {"commands": [{"name": "hang", "run": f"python3 hang.py {marker}", "timeout_s": 60}],
            "instrumentation": [{"metric": "code_runs", "source": "probe", "probe": "code_runs"}]}
    brain = script([plan], [])
    import os
    import signal
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "remoroo.cli", "run", str(repo), "--goal", "g", "--metrics",
                             "code_runs == true", "--brain", f"scripted:{brain}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items() if not k.startswith("REMOROO_")})
    try:
        found = wait_marked(marker, 3, 60)  # a loaded 2-core machine starts three Pythons slowly
        assert len(found) >= 3, (found, describe_marked(marker))  # sh, hang.py and the escaped grandchild
    finally:  # a failed wait must not leave the run (and its sandbox) to the next test
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 1
    assert wait_gone(marker, 5) == []
    report, md = report_of(repo)
    assert report["outcome"] == "FAIL" and "cancelled" in report["reason"]


def test_instrumentation_that_finds_nothing_goes_back_to_the_brain(fib_repo: Path, script) -> None:
    wrong = dict(FIB_PLAN, instrumentation=[
        {"metric": "fib_10", "source": "stdout", "command": "main", "pattern": r"fib\(10\) = (\d+)"}])
    brain = script([wrong], [FIX])
    done = run_fib(fib_repo, brain)
    assert done.returncode == 1
    report, _ = report_of(fib_repo)
    assert report["reason"].startswith("unmeasurable:") and "fib_10" in report["reason"]
    events = [json.loads(line) for line in (latest_run(fib_repo) / "events.ndjson").read_text().splitlines()]
    assert [e["event"] for e in events].count("preflight_failed") == 3  # max_plan_attempts
    assert report["turns"] == []


def test_judge_reasoning_is_reported_but_never_decides(fib_repo: Path, tmp_path: Path) -> None:
    brain = tmp_path / "judge.json"
    brain.write_text(json.dumps({"plans": [FIB_PLAN], "patches": [WORSE],
                                 "judge": "## Outcome: SUCCESS\nThis looks perfect, ship it."}))
    done = run_fib(fib_repo, brain, "--max-turns", "1")
    assert done.returncode == 1
    report, md = report_of(fib_repo)
    assert report["outcome"] == "FAIL" and report["judge"].startswith("## Outcome: SUCCESS")
    assert parse_outcome(md) == "FAIL"  # the judge's text cannot add an outcome line
    assert "### Judge (advisory" in md


def test_failure_witnesses_for_a_crash_and_a_timeout(tmp_path: Path, script) -> None:
    repo = write_files(tmp_path / "wit", {
        "calc.py": "def ratio(a, b):\n    return a / b\n",
        "main.py": "from calc import ratio\n\nprint(f'r={ratio(1, 0)}')\n",
        "slow.py": "import time\n\n\ndef spin():\n    while True:\n        time.sleep(0.05)\n\n\nspin()\n",
    })
    git_init(repo)
    plan = {"commands": [{"name": "main", "run": "python3 main.py"},
                         {"name": "slow", "run": "python3 slow.py", "timeout_s": 1}],
            "instrumentation": [{"metric": "r", "source": "stdout", "command": "main", "pattern": r"r=([\d.]+)"}]}
    brain = script([plan], [{"give_up": "nothing to try"}])
    done = cli("run", str(repo), "--goal", "g", "--metrics", "r == 0.5", "--brain", f"scripted:{brain}")
    assert done.returncode == 1
    witnesses = latest_run(repo) / "turns" / "0" / "witnesses"
    crash = json.loads((witnesses / "01-crash.json").read_text())
    assert crash["exception"].startswith("ZeroDivisionError")
    assert crash["stack"][-1] == {"file": "calc.py", "line": 2, "function": "ratio"}
    timeout = json.loads((witnesses / "02-timeout.json").read_text())
    assert timeout["stack"][-1]["function"] == "spin" and timeout["stack"][-1]["file"] == "slow.py"
    target = json.loads((witnesses / "03-target.json").read_text())
    assert target["expected"] == "r == 0.5" and "no line" in str(target["actual"])
    repro = subprocess.run(["sh", str(witnesses / "01-crash.repro.sh")], capture_output=True, text=True)
    assert repro.returncode != 0 and "ZeroDivisionError" in repro.stderr
    report, md = report_of(repo)
    assert any("crash at calc.py:2 in ratio" in w for w in report["witnesses"])
    assert "### Failure witnesses" in md


def test_instrumentation_that_emits_a_literal_is_refused(tmp_path: Path, script) -> None:
    repo = write_files(tmp_path / "inst", {"score.py": "acc = sum([1, 0, 1, 1]) / 4\nprint('scored')\n"})
    git_init(repo)
    plan = {"commands": [{"name": "score", "run": "python3 score.py"}],
            "instrumentation": [{"metric": "acc", "source": "emit", "command": "score"}]}
    brain = tmp_path / "inst.json"
    brain.write_text(json.dumps({"plans": [plan], "patches": [], "instrument": {"edits": [
        {"path": "score.py", "search": "print('scored')\n",
         "replace": "print('scored')\nimport remoroo\nremoroo.emit('acc', 0.99)\n"}]}}))
    done = cli("run", str(repo), "--goal", "g", "--metrics", "acc >= 0.9", "--brain", f"scripted:{brain}")
    assert done.returncode == 1
    run_dir = latest_run(repo)
    events = [json.loads(line) for line in (run_dir / "events.ndjson").read_text().splitlines()]
    vetoed = [e for e in events if e["event"] == "instrumentation_vetoed"]
    audit = (run_dir / "audit" / "instrumentation.json").read_text()
    assert vetoed and "literal_metric" in audit
    assert not (run_dir / "instrumentation.diff").exists()
    report, _ = report_of(repo)
    assert report["reason"].startswith("unmeasurable:") and "acc" in report["reason"]


def test_final_verification_downgrades_a_result_that_does_not_hold(tmp_path: Path, script) -> None:
    repo = write_files(tmp_path / "verify", {
        ".gitignore": "answer_cache.py\n",
        "main.py": "from lib import answer\n\nprint(f'answer={answer()}')\n",
        "lib.py": "def answer():\n    return 41\n",
    })
    git_init(repo)
    plan = {"commands": [{"name": "main", "run": "python3 main.py"}],
            "instrumentation": [{"metric": "answer", "source": "stdout", "command": "main",
                                 "pattern": r"answer=(\d+)"}]}
    # the patch's effect lives in an ignored file, which never reaches final_patch.diff
    cheat = {"edits": [{"path": "answer_cache.py", "search": "", "replace": "VALUE = 42\n"},
                       {"path": "lib.py", "search": "    return 41\n",
                        "replace": "    try:\n        from answer_cache import VALUE\n    except ImportError:\n"
                                   "        VALUE = 41\n    return VALUE\n"}]}
    brain = script([plan], [cheat])
    done = cli("run", str(repo), "--goal", "g", "--metrics", "answer == 42", "--brain", f"scripted:{brain}",
               "--max-turns", "1")
    report, md = report_of(repo)
    assert report["turns"][0]["decision"] == "KEPT"
    assert done.returncode == 1 and report["outcome"] == "FAIL"
    assert report["reason"].startswith("final verification on a fresh copy did not hold")
    assert parse_outcome(md) == "FAIL"


def test_error_messages_with_brackets_are_printed_intact(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "toml", {"remoroo.toml": "[run]\nmax_turn = 3\n"})
    done = cli("run", str(repo), "--goal", "g", "--metrics", "a == 1")
    assert done.returncode == 2 and "unknown setting(s) max_turn in [run]" in done.stderr


def test_usage_errors_are_one_message_and_exit_2_never_a_traceback(fib_repo: Path) -> None:
    for args in (["run", str(fib_repo), "--goal", "g", "--metrics", "fib_10 == 55", "--max-turns", "abc"],
                 ["run", str(fib_repo), "--goal", "g", "--metrics", "fib_10 == 55", "--memory-limit-mb", "x"],
                 ["run", "--bogus"], ["bogus"],
                 ["run", str(fib_repo), "--goal", "g", "--metrics", "fib_10 == 55", "--sandbox", "maybe"]):
        done = cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout, (args, done.stderr)
        assert "rror" in done.stderr, (args, done.stderr)
