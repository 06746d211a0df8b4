from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import git_init, write_files

from remoroo.errors import PatchRejected
from remoroo.model.patch import Edit, PatchProposal
from remoroo.patch.apply import apply_edits, apply_proposal

FIXTURES = Path(__file__).parent / "fixtures" / "malformed_patches"
SOURCE = (
    "def fib(n):\n"
    "    a, b = 0, 1\n"
    "    for _ in range(n - 1):\n"
    "        a, b = b, a + b\n"
    "    return a\n"
    "\n"
    "\n"
    "def fib_list(n):\n"
    "    out = []\n"
    "    a, b = 0, 1\n"
    "    for _ in range(n):\n"
    "        out.append(a)\n"
    "        a, b = b, a + b\n"
    "    return out\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "repo", {"fib.py": SOURCE, "main.py": "print(1)\n"})
    git_init(root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.glob("*.txt")))
def test_malformed_output_catalogue(case: str, repo: Path) -> None:
    header, _, text = (FIXTURES / case).read_text().partition("\n---\n")
    expect = header.removeprefix("expect: ").strip()
    before = snapshot(repo)
    if expect == "applies":
        touched = apply_proposal(repo, PatchProposal(text=text))
        assert touched == ["fib.py"]
        assert "    for _ in range(n):\n        a, b = b, a + b\n    return a\n" in (repo / "fib.py").read_text()
    else:
        needle = expect.removeprefix("rejected: ")
        with pytest.raises(PatchRejected) as info:
            apply_proposal(repo, PatchProposal(text=text))
        assert needle in str(info.value)
        assert snapshot(repo) == before, "a rejected patch must write nothing"


def test_catalogue_has_at_least_fifteen_kinds() -> None:
    assert len(list(FIXTURES.glob("*.txt"))) >= 15


def test_exact_edit_and_create(repo: Path) -> None:
    touched = apply_edits(repo, [
        Edit(path="fib.py", search="    for _ in range(n - 1):\n", replace="    for _ in range(n):\n"),
        Edit(path="pkg/new.py", search="", replace="X = 1\n"),
    ])
    assert touched == ["fib.py", "pkg/new.py"]
    assert (repo / "pkg/new.py").read_text() == "X = 1\n"


def test_sequential_edits_to_one_file_see_each_other(repo: Path) -> None:
    apply_edits(repo, [
        Edit(path="fib.py", search="    for _ in range(n - 1):\n", replace="    for _ in range(n - 2):\n"),
        Edit(path="fib.py", search="    for _ in range(n - 2):\n", replace="    for _ in range(n):\n"),
    ])
    assert "range(n):\n        a, b" in (repo / "fib.py").read_text()


def test_indentation_shift_reindents_the_replacement(repo: Path) -> None:
    apply_edits(repo, [Edit(path="fib.py", search="out = []\n", replace="out = []\nassert n >= 0\n")])
    assert "    out = []\n    assert n >= 0\n" in (repo / "fib.py").read_text()


def test_crlf_files_keep_their_line_endings(tmp_path: Path) -> None:
    root = tmp_path / "crlf"
    root.mkdir()
    (root / "a.py").write_bytes(b"x = 1\r\ny = 2\r\n")
    apply_edits(root, [Edit(path="a.py", search="y = 2\n", replace="y = 3\n")])
    assert (root / "a.py").read_bytes() == b"x = 1\r\ny = 3\r\n"


def test_absolute_path_and_symlink_escape_are_refused(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(PatchRejected, match="outside the repository"):
        apply_edits(repo, [Edit(path="/etc/passwd", search="", replace="x")])
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, repo / "link")
    with pytest.raises(PatchRejected, match="symlink"):
        apply_edits(repo, [Edit(path="link/evil.py", search="", replace="x")])
    assert not (outside / "evil.py").exists()


def test_missing_file_message_says_how_to_create(repo: Path) -> None:
    with pytest.raises(PatchRejected, match="leave the search part empty"):
        apply_edits(repo, [Edit(path="nope.py", search="x\n", replace="y\n")])


def test_unified_diff_field(repo: Path) -> None:
    diff = (
        "--- a/main.py\n+++ b/main.py\n@@ -1 +1 @@\n-print(1)\n+print(2)\n"
    )
    assert apply_proposal(repo, PatchProposal(diff=diff)) == ["main.py"]
    assert (repo / "main.py").read_text() == "print(2)\n"


def test_unified_diff_escaping_the_repo_is_refused(repo: Path) -> None:
    diff = "--- a/../x.py\n+++ b/../x.py\n@@ -0,0 +1 @@\n+x\n"
    with pytest.raises(PatchRejected, match="outside the repository"):
        apply_proposal(repo, PatchProposal(diff=diff))


def test_single_line_fragment_must_be_unique(repo: Path) -> None:
    apply_edits(repo, [Edit(path="main.py", search="print(1)", replace="print(3)")])
    assert (repo / "main.py").read_text() == "print(3)\n"
    with pytest.raises(PatchRejected, match="matches 2 places|does not match"):
        apply_edits(repo, [Edit(path="fib.py", search="a, b = 0, 1", replace="a, b = 1, 1")])
