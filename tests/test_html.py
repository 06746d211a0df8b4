"""report.html and leaderboard.html: self-contained, escaped, and rendered in a real browser (headless Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIB, FIB_PLAN, ROOT, cli, edit, git_init, latest_run, write_files

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "build" / "test-artifacts"  # screenshots, kept for a human to look at (git ignores build/)
INJECTED = "<script>alert('x')</script> & <b>bold</b>"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html")
    repo = write_files(root / "fib", FIB)
    git_init(repo)
    worse = dict(edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n - 2):\n"), rationale=INJECTED)
    fix = dict(edit("fib.py", "    for _ in range(n - 1):\n", "    for _ in range(n):\n"), rationale="loop bound")
    brain = root / "brain.json"
    brain.write_text(json.dumps({"plans": [FIB_PLAN], "patches": [worse, fix]}))
    done = cli("run", str(repo), "--goal", "fix fib", "--metrics", "fib_10 == 55", "--brain", f"scripted:{brain}")
    assert done.returncode == 0, done.stderr
    return latest_run(repo)


def test_the_report_page_is_self_contained_and_escaped(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    assert page.startswith("<!doctype html>")
    assert not re.findall(r"(?:src|href)=\"(?:https?:)?//", page) and "http" not in page  # no network at all
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert 'class="pygal-chart"' in page and "target: fib_10 == 55" in page
    assert page.count('class="candidate"') == 2 and "loop bound" in page
    md = (run_dir / "final_report.md").read_text()
    assert "### The change" in md and "+    for _ in range(n):" in md and "rationale: loop bound" in md


def dom(page: Path, screenshot: Path) -> str:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--user-data-dir=" + str(screenshot.parent / "profile")]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run([CHROMIUM, *flags, f"--screenshot={screenshot}", "--window-size=1200,1800",
                           page.as_uri()], capture_output=True, text=True, timeout=90)
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    done = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make installs it as root: apt chromium)")
def test_the_report_renders_in_a_browser(run_dir: Path) -> None:
    rendered = dom(run_dir / "report.html", ARTIFACTS / "report.png")
    assert re.search(r'id="outcome"[^>]*>SUCCESS<', rendered)
    assert "<svg" in rendered and 'class="pygal-chart"' in rendered  # the chart is in the rendered DOM
    assert rendered.count('class="candidate"') == 2
    assert 'href="final_patch.diff"' in rendered and 'href="events.ndjson"' in rendered


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make installs it as root: apt chromium)")
def test_the_leaderboard_renders_with_colours_links_and_a_chart(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    for category, name in (("should_succeed", "fib_fix"), ("should_fail", "impossible")):
        shutil.copytree(ROOT / "examples" / name, suite / category / name, ignore=shutil.ignore_patterns(".remoroo"))
    done = cli("bench", str(suite), "--jobs", "2", timeout=600)
    assert done.returncode == 0, done.stderr
    board = suite / ".remoroo" / "bench" / "leaderboard.html"
    page = board.read_text()
    assert "http" not in page and "brain: <b>search</b>" in page
    rendered = dom(board, ARTIFACTS / "leaderboard.png")
    links = re.findall(r'class="report" href="([^"]+)"', rendered)
    assert len(links) == 2 and all((board.parent / link).resolve().is_file() for link in links)
    assert all(link.endswith("report.html") for link in links)
    assert "color:#1a7f37" in rendered and "color:#cf222e" in rendered  # SUCCESS green, FAIL red
    assert 'id="wall-time"' in rendered and "<svg" in rendered
