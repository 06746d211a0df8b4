from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import git_init, write_files

from remoroo.errors import PatchRejected
from remoroo.model.patch import Edit, PatchProposal
from remoroo.patch.apply import apply_diff, apply_edits, apply_proposal

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


NESTED = (
    "class Box:\n"
    "    def total(self, items):\n"
    "        s = 0\n"
    "        for x in items:\n"
    "            s += x * 2\n"
    "    \n"
    "        return s\n"
)


@pytest.mark.parametrize(("search", "replace"), [
    # a whitespace-only line of the file written empty
    ("        for x in items:\n            s += x * 2\n\n        return s\n",
     "        for x in items:\n            s += x\n\n        return s\n"),
    # the whole block dedented by four, its first line the deepest (the old rule took the first line's indent)
    ("        s += x * 2\n\n    return s\n", "        s += x\n\n    return s\n"),
    # the whole block dedented to the left margin
    ("for x in items:\n    s += x * 2\n", "for x in items:\n    s += x\n"),
    # indented too far
    ("                s += x * 2\n            \n            return s\n",
     "                s += x\n            \n            return s\n"),
    # trailing spaces copied onto lines
    ("        for x in items:  \n            s += x * 2 \n", "        for x in items:\n            s += x\n"),
])
def test_common_slips_still_apply_uniquely(tmp_path: Path, search: str, replace: str) -> None:
    root = write_files(tmp_path / "r", {"box.py": NESTED})
    apply_edits(root, [Edit(path="box.py", search=search, replace=replace)])
    text = (root / "box.py").read_text()
    assert "            s += x\n" in text and "* 2" not in text
    assert text.count("return s") == 1 and text.startswith("class Box:\n    def total(self, items):\n")
    compile(text, "box.py", "exec")


def test_a_slip_that_matches_twice_is_still_refused(tmp_path: Path) -> None:
    twice = "def a():\n    x = 1\n    return x\n\n\ndef b():\n    x = 1\n    return x\n"
    root = write_files(tmp_path / "r", {"m.py": twice})
    with pytest.raises(PatchRejected, match="matches 2 places"):
        apply_edits(root, [Edit(path="m.py", search="x = 1  \nreturn x\n", replace="x = 2\nreturn x\n")])
    assert (root / "m.py").read_text() == twice


def test_an_ellipsis_that_is_code_matches_as_code(tmp_path: Path) -> None:
    source = "def stub():\n    ...\n\n\ndef other():\n    return 1\n"
    root = write_files(tmp_path / "r", {"s.py": source})
    apply_edits(root, [Edit(path="s.py", search="def stub():\n    ...\n", replace="def stub():\n    return 0\n")])
    assert (root / "s.py").read_text() == "def stub():\n    return 0\n\n\ndef other():\n    return 1\n"


ANSWERS = Path(__file__).parent / "fixtures" / "malformed_answers"


@pytest.mark.parametrize("case", sorted(p.name for p in ANSWERS.glob("*.txt")))
def test_plain_text_answer_catalogue(case: str, repo: Path) -> None:
    """A model's patch answer in plain text: proposals read, broken ones dropped, the first one applies."""
    from remoroo.brain.llm.answers import parse_patch
    from remoroo.protocol.wire import Usage

    header, _, text = (ANSWERS / case).read_text().partition("\n---\n")
    expect = dict(line.split(": ", 1) for line in header.splitlines())
    kind, _, value = expect["expect"].partition(" ") if expect["expect"].startswith("proposals") else (
        expect["expect"].partition(": "))
    if kind == "invalid":
        with pytest.raises(ValueError, match=value):
            parse_patch(text, Usage(), 6)
        return
    response = parse_patch(text, Usage(), 6)
    if kind == "give_up":
        assert response.give_up and value in response.give_up and not response.proposals
    elif kind == "hydrate":
        assert [h.path for h in response.hydrate][0] == value and not response.proposals
    else:
        assert len(response.proposals) == int(value), response.proposals
        first = response.proposals[0]
        if "contains" in expect:
            assert expect["contains"] in first.edits[0].replace
        apply_proposal(repo, first)
        assert "    for _ in range(n):\n" in (repo / "fib.py").read_text()
        assert first.rationale or case in ("04_no_headings.txt",)


def test_plain_text_answer_catalogue_has_the_kinds() -> None:
    assert len(list(ANSWERS.glob("*.txt"))) >= 15


def test_a_unified_diff_with_one_bad_file_writes_nothing(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    git_init(tmp_path)
    diff = ("--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 10\n"
            "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-y = 3\n+y = 30\n")
    with pytest.raises(PatchRejected, match="nothing was written"):
        apply_diff(tmp_path, diff)
    assert (tmp_path / "a.py").read_text() == "x = 1\n"
    assert (tmp_path / "b.py").read_text() == "y = 2\n"
    good = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 10\n"
    assert apply_diff(tmp_path, good) == ["a.py"]
    assert (tmp_path / "a.py").read_text() == "x = 10\n"
