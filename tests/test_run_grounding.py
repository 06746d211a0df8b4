"""Grounding during a run: the run keeps its own index and diagram, the brain is sent the discovered
commands, and the diagram follows the code while edits to diagrams never count as progress."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIB_PLAN, cli, edit, latest_run

from remoroo.index import load_index

FIX_WITH_HELPER = edit("fib.py", "def fib(n):\n    a, b = 0, 1\n    for _ in range(n - 1):\n",
                       "def steps(n):\n    return n\n\n\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(steps(n)):\n")


def events(run_dir: Path, name: str) -> list[dict]:
    lines = (run_dir / "events.ndjson").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == name]


def test_diagram_is_regenerated_when_the_kept_code_changes(fib_repo: Path, script) -> None:
    brain = script([FIB_PLAN], [FIX_WITH_HELPER])
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{brain}", "--max-turns", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = latest_run(fib_repo)
    diagrams = events(run_dir, "diagram")
    assert len(diagrams) >= 2 and not diagrams[0]["regenerated"] and diagrams[-1]["regenerated"]
    assert diagrams[-1]["reparsed"] >= 1 and diagrams[0]["sha256"] != diagrams[-1]["sha256"]
    final = (run_dir / "system_diagram.md").read_text()
    assert '"fib.py:steps"' in final and '(["main.py"])' in final  # the new call path, from the index
    index = load_index(run_dir / "repo_index.json")
    assert index is not None and "steps" in {s.name for s in index.files["fib.py"].symbols}
    assert not (fib_repo / "system_diagram.md").exists()  # the user's repository is not written to
    transcript = sorted((run_dir / "brain").glob("*plan.request*"))
    sent = "".join(p.read_text() for p in transcript)
    assert '"candidates"' in sent and "main.py: top-level script" in sent  # discovery reached the brain


def test_editing_the_diagram_never_counts_as_progress(fib_repo: Path, script) -> None:
    diagram = {"edits": [{"path": "system_diagram.md", "search": "", "replace": "graph LR\n  fib --> fixed\n"}]}
    docs = edit("README.md", "# fib\n", "# fib\n\nSee system_diagram.md.\n")
    brain = script([FIB_PLAN], [diagram, docs, diagram, docs, diagram, docs, diagram, docs])
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{brain}", "--max-turns", "8")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((latest_run(fib_repo) / "final_report.json").read_text())
    assert "stagnation" in report["reason"]
    assert report["turns"] and all(t["decision"] != "KEPT" for t in report["turns"])


FIX = edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n")


def test_hydration_is_answered_in_the_next_call(fib_repo: Path, script) -> None:
    plan = {"hydrate": ["fib.py", "README.md"], "then": FIB_PLAN}
    patch = {"hydrate": ["main.py"], "then": FIX}
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{script([plan], [patch])}", "--max-turns", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = latest_run(fib_repo)
    rounds = events(run_dir, "hydration")
    assert [(e["what"], e["paths"], e["problems"]) for e in rounds] == [
        ("plan", ["fib.py", "README.md"], []), ("turn 1", ["main.py"], [])]
    requests = [json.loads(p.read_text()) for p in sorted((run_dir / "brain").glob("*.request.json"))]
    hydrated = [(r["kind"], [f["path"] for f in r["hydrated"]]) for r in requests]
    assert hydrated[:4] == [("plan", []), ("plan", ["fib.py", "README.md"]), ("patch", ["fib.py", "README.md"]),
                            ("patch", ["fib.py", "README.md", "main.py"])]  # what was asked for stays pinned
    assert "def fib" in requests[1]["hydrated"][0]["content"]


def test_files_asked_for_stay_pinned_in_later_turns_and_are_read_at_the_kept_state(fib_repo: Path, script) -> None:
    half = edit("fib.py", "    return a\n", "    return a  # checked\n")  # no metric moves: reverted
    turn1 = {"hydrate": ["main.py", "fib.py"], "then": half}
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{script([FIB_PLAN], [turn1, FIX])}", "--max-turns", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = latest_run(fib_repo)
    requests = [json.loads(p.read_text()) for p in sorted((run_dir / "brain").glob("*patch.request.json"))]
    second = [r for r in requests if r["turn"] == 2]
    assert second and [f["path"] for f in second[0]["hydrated"]] == ["main.py", "fib.py"]
    sent = {f["path"]: f["content"] for f in second[0]["hydrated"]}
    assert sent["fib.py"] == (fib_repo / "fib.py").read_text()  # the kept state: the reverted edit is not in it
    assert "# checked" not in sent["fib.py"]
    assert [e["what"] for e in events(run_dir, "hydration")] == ["turn 1"]  # asked once, sent in every later call


def test_hydration_that_cannot_be_answered_ends_the_run(fib_repo: Path, script) -> None:
    plan = {"hydrate": ["secret/weights.py"], "then": FIB_PLAN}
    done = cli("run", str(fib_repo), "--goal", "fix fib", "--metrics", "fib_10 == 55",
               "--brain", f"scripted:{script([plan], [FIX])}")
    assert done.returncode == 1, done.stdout + done.stderr
    run_dir = latest_run(fib_repo)
    report = json.loads((run_dir / "final_report.json").read_text())
    assert report["outcome"] == "FAIL"
    assert "needed secret/weights.py, could not obtain" in report["reason"]
    rounds = events(run_dir, "hydration")
    assert len(rounds) == 2 and all("does not exist" in e["problems"][0] for e in rounds)  # K = 2 rounds answered
    assert events(run_dir, "hydration_exhausted")[0]["paths"] == ["secret/weights.py"]


LEAKY = {
    ".gitignore": "cache/\ndata.txt\n",
    "data.txt": "row\n",
    "main.py": (
        "import os\n\n"
        "cold = int(not os.path.exists('cache/memo'))\n"
        "rows = len(open('data.txt').read().splitlines())\n"
        "os.makedirs('cache', exist_ok=True)\n"
        "open('cache/memo', 'w').write('warm')\n"
        "open('data.txt', 'a').write('row\\n')\n"
        "# a comment a patch can touch\n"
        "print(f'cold={cold}')\n"
        "print(f'rows={rows}')\n"
    ),
}
LEAKY_PLAN = {
    "commands": [{"name": "main", "run": "python3 main.py", "timeout_s": 30}],
    "instrumentation": [{"metric": m, "source": "stdout", "command": "main", "pattern": f"{m}=(\\d+)"}
                        for m in ("cold", "rows")],
}


def test_a_run_leaves_nothing_for_the_next_candidate(tmp_path: Path, script) -> None:
    """A cache or a data edit hidden by .gitignore must not make a no-op candidate look like progress."""
    from conftest import git_init, write_files

    repo = write_files(tmp_path / "leaky", LEAKY)
    git_init(repo)
    noop = edit("main.py", "# a comment a patch can touch\n", "# a comment, touched\n")
    done = cli("run", str(repo), "--goal", "warm start", "--metrics", "cold == 0, rows >= 2",
               "--brain", f"scripted:{script([LEAKY_PLAN], [noop, noop])}", "--max-turns", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((latest_run(repo) / "final_report.json").read_text())
    assert [t["metrics"] for t in report["turns"]] == [{"cold": 1, "rows": 1}] * 2
    assert (repo / "data.txt").read_text() == "row\n" and not (repo / "cache").exists()


def test_the_projects_own_sitecustomize_still_runs(tmp_path: Path, script) -> None:
    from conftest import git_init, write_files

    repo = write_files(tmp_path / "custom", {
        "site_extra/sitecustomize.py": "import builtins\nbuiltins.PROJECT_CUSTOMIZED = 1\n",
        "main.py": "import builtins\nprint(f'custom={getattr(builtins, \"PROJECT_CUSTOMIZED\", 0)}')\n",
    })
    git_init(repo)
    plan = {"commands": [{"name": "main", "run": "python3 main.py", "env": {"PYTHONPATH": "site_extra"}}],
            "instrumentation": [{"metric": "custom", "source": "stdout", "command": "main",
                                 "pattern": "custom=(\\d+)"}]}
    done = cli("run", str(repo), "--goal", "g", "--metrics", "custom == 1",
               "--brain", f"scripted:{script([plan], [])}", "--max-turns", "1")
    report = json.loads((latest_run(repo) / "final_report.json").read_text())
    assert report["metrics"][0]["baseline"] == 1, done.stdout + done.stderr  # not shadowed by the engine's shim


def test_the_index_and_the_brains_view_are_made_once_per_kept_commit(tmp_path: Path) -> None:
    from remoroo.evidence.ledger import RunFolder
    from remoroo.loop.indexer import RunIndex
    from remoroo.protocol.wire import ContextSlice

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("A = 1\n")
    folder = RunFolder.create(tmp_path, "run")
    index = RunIndex(tree, folder, tmp_path)
    first = index.current("c1")
    (tree / "b.py").write_text("B = 2\n")  # not something a caller naming c1 would do: shows the walk is skipped
    assert index.current("c1") is first and "b.py" not in first.files
    assert "b.py" in index.current("c2").files and "b.py" in index.current().files  # a new or unnamed state: walked
    built: list[int] = []

    def build() -> ContextSlice:
        built.append(1)
        return ContextSlice(files=[], budget_chars=100)

    index.current("c3")
    one, two = index.view("k", build), index.view("k", build)
    assert one is two and len(built) == 1
    index.view("other", build)
    index.current("c4")
    index.view("other", build)
    assert len(built) == 3
    index.current()
    index.view("other", build), index.view("other", build)
    assert len(built) == 5  # the tree's state unknown: nothing kept
