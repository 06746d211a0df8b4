"""Command discovery: every source the issue names, each candidate with the evidence of where it was found."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_files

from remoroo.index import build_index
from remoroo.index.discovery import discover_commands

REPO = {
    "README.md": ("# Tool\n\nInstall, then:\n\n```bash\n$ python3 -m tool --fast\npip install -e .\n```\n\n"
                  "Serve and query it:\n\n```\npython3 server.py --port 8080 &\npython3 client.py --url "
                  "http://127.0.0.1:8080/\n```\n\nOr just `make bench`.\n\n"
                  "```\npython3 -m venv .venv\nmake install\nnpm install\ngo mod tidy\n```\n"),
    "Makefile": (".PHONY: bench test\nVAR := 1\n%.o: %.c\n\tcc $<\n\nbench: build\n\t@python3 tools/bench.py --n 3\n\n"
                 "test:\n\tpytest -q\n"),
    "pyproject.toml": '[project]\nname = "tool"\n[project.scripts]\ntool-cli = "tool.cli:main"\n'
                      '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "src/tool/__init__.py": "",
    "src/tool/__main__.py": "from .cli import main\nmain()\n",
    "src/tool/cli.py": "def main():\n    return 0\n",
    "server.py": ("from http.server import HTTPServer\n\nif __name__ == '__main__':\n"
                  "    HTTPServer(('127.0.0.1', 1), None)\n"),
    "client.py": "import sys\n",
    "tools/bench.py": "if __name__ == '__main__':\n    print('runtime=1')\n",
    "setup.py": "if __name__ == '__main__':\n    pass\n",
    "train.py": "print('loss=1')\n",
    "tests/test_cli.py": "def test():\n    pass\n",
    "web/package.json": json.dumps({"scripts": {"test": "vitest run", "bench": "node bench/run.js", "pretest": "x"},
                                    "bin": {"w": "bin/w.js"}}),
    "web/bench/run.js": "console.log('ops=1');\n",
    "web/bin/w.js": "if (require.main === module) { console.log(1); }\n",
    "svc/go.mod": "module example.com/svc\n",
    "svc/main.go": "package main\n\nfunc main() {}\n",
    "svc/main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {}\n",
}


def test_every_source_with_its_evidence(tmp_path: Path) -> None:
    write_files(tmp_path, REPO)
    found = discover_commands(tmp_path, build_index(tmp_path))
    by_run = {(c.run, c.cwd): c for c in found}
    expect = {
        ("python3 -m tool --fast", "."): ("readme", "README.md:6: README code block"),
        ("python3 client.py --url http://127.0.0.1:{port}/", "."): ("readme", "README.md:13: README starts a server"),
        ("make bench", "."): ("readme", "README.md:17: README code block"),
        ("make test", "."): ("makefile", "Makefile:9: Makefile target 'test' runs `pytest -q`"),
        ('python3 -c "import sys; from tool.cli import main; sys.exit(main())"', "."): (
            "console_script", "pyproject.toml: [project.scripts] tool-cli = 'tool.cli:main'"),
        ("python3 -m tool", "."): ("main_module", "src/tool/__main__.py: package __main__"),
        ("python3 tools/bench.py", "."): ("main_guard", "tools/bench.py: if __name__ == '__main__'"),
        ("python3 train.py", "."): ("script", "train.py: top-level script"),
        ("npm test", "web"): ("package_json", "web/package.json: scripts.test = 'vitest run'"),
        ("npm run bench", "web"): ("package_json", "web/package.json: scripts.bench = 'node bench/run.js'"),
        ("node web/bin/w.js", "."): ("script", "web/bin/w.js"),
        ("go run .", "svc"): ("go", "svc/main.go: package main"),
        ("go test ./...", "svc"): ("tests", "svc/go.mod: Go module with _test.go files"),
        ("python3 -m pytest -q", "."): ("tests", "tests/test_cli.py: test file"),
    }
    for key, (source, evidence) in expect.items():
        assert key in by_run, f"{key} not discovered: {sorted(by_run)}"
        assert by_run[key].source == source and by_run[key].evidence.startswith(evidence), by_run[key]
    assert by_run[("python3 -m tool", ".")].env == {"PYTHONPATH": "src"}  # the engine's own path stays first
    client = by_run[("python3 client.py --url http://127.0.0.1:{port}/", ".")]
    assert client.service == "python3 server.py --port {port}" and client.service_entry == "server.py"
    assert client.entry == "client.py"
    assert by_run[("make bench", ".")].entry is None  # the README line; the Makefile's own candidate is merged
    runs = [c.run for c in found]
    assert "pip install -e ." not in runs and "make %.o" not in runs and "make .PHONY" not in runs
    assert not {"python3 -m venv .venv", "make install", "npm install", "go mod tidy"} & set(runs)  # setup
    assert "python3 setup.py" not in runs and "npm run pretest" not in runs
    assert "python3 server.py --port 8080 &" not in runs and "make VAR" not in runs
    assert runs.index("python3 -m tool --fast") < runs.index("python3 train.py")  # the README comes first


def test_makefile_target_points_at_the_file_its_recipe_runs(tmp_path: Path) -> None:
    write_files(tmp_path, {"Makefile": "bench:\n\t@python3 tools/bench.py --n 3\n", "tools/bench.py": "print(1)\n"})
    (cand,) = discover_commands(tmp_path, build_index(tmp_path))
    assert (cand.run, cand.entry, cand.source) == ("make bench", "tools/bench.py", "makefile")
    assert cand.evidence == "Makefile:1: Makefile target 'bench' runs `python3 tools/bench.py --n 3`"


def test_a_rule_with_several_targets_gives_each(tmp_path: Path) -> None:
    write_files(tmp_path, {"Makefile": "bench quick: \n\tpython3 b.py\n", "b.py": "print(1)\n"})
    runs = [(c.run, c.entry) for c in discover_commands(tmp_path, build_index(tmp_path)) if c.source == "makefile"]
    assert runs == [("make bench", "b.py"), ("make quick", "b.py")]


def test_nothing_to_run(tmp_path: Path) -> None:
    write_files(tmp_path, {"lib.py": "def f():\n    return 1\n", "README.md": "A library.\n"})
    assert discover_commands(tmp_path, build_index(tmp_path)) == []
