"""The leaderboard: one row per case, totals per category, robustness counters; JSON, Markdown, HTML."""

from __future__ import annotations

import html
from pathlib import Path

from pydantic import BaseModel

from remoroo.bench.runner import CaseResult


class Totals(BaseModel):
    cases: int = 0
    scored: int = 0
    correct: int = 0
    success_rate: float | None = None
    timeouts: int = 0
    vetoes: int = 0
    malformed_brain_outputs: int = 0
    invalid: int = 0
    crashed: int = 0
    skipped: int = 0


class Leaderboard(BaseModel):
    rows: list[CaseResult]
    categories: dict[str, Totals]
    total: Totals


def _totals(rows: list[CaseResult]) -> Totals:
    scored = [r for r in rows if r.correct is not None]
    correct = sum(1 for r in scored if r.correct)
    return Totals(
        cases=len(rows), scored=len(scored), correct=correct,
        success_rate=round(correct / len(scored), 4) if scored else None,
        timeouts=sum(1 for r in rows if r.status == "timeout"), vetoes=sum(r.vetoes for r in rows),
        malformed_brain_outputs=sum(r.malformed_brain_outputs for r in rows),
        invalid=sum(1 for r in rows if r.status == "invalid"), crashed=sum(1 for r in rows if r.status == "crashed"),
        skipped=sum(1 for r in rows if r.status == "skipped"),
    )


def build_leaderboard(results: list[CaseResult]) -> Leaderboard:
    rows = sorted(results, key=lambda r: r.key)
    categories = sorted({r.category for r in rows})
    return Leaderboard(rows=rows, categories={c or "(none)": _totals([r for r in rows if r.category == c])
                                              for c in categories}, total=_totals(rows))


COLUMNS = ("case", "category", "outcome", "expected", "correct", "turns", "wall time", "status")


def _cells(r: CaseResult) -> list[str]:
    correct = "—" if r.correct is None else ("yes" if r.correct else "no")
    return [r.case_id, r.category or "—", r.outcome, r.expected, correct, str(r.turns), f"{r.wall_s:.1f}s", r.status]


def _total_cells(name: str, t: Totals) -> list[str]:
    rate = "—" if t.success_rate is None else f"{100 * t.success_rate:.1f}%"
    return [name, str(t.cases), f"{t.correct}/{t.scored}", rate, str(t.timeouts), str(t.vetoes),
            str(t.malformed_brain_outputs), str(t.invalid), str(t.crashed), str(t.skipped)]


TOTAL_COLUMNS = ("category", "cases", "correct", "success rate", "timeouts", "vetoes", "malformed brain outputs",
                 "invalid", "crashed", "skipped")


def render_markdown(board: Leaderboard) -> str:
    def table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
            ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]

    lines = ["# remoroo leaderboard", "", "## Cases", ""]
    lines += table(COLUMNS, [_cells(r) for r in board.rows])
    lines += ["", "## Totals", ""]
    lines += table(TOTAL_COLUMNS, [_total_cells(c, t) for c, t in board.categories.items()]
                   + [_total_cells("all", board.total)])
    return "\n".join(lines) + "\n"


def render_html(board: Leaderboard) -> str:
    def table(header: tuple[str, ...], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    style = ("body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin-bottom:2rem}"
             "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}")
    cases = table(COLUMNS, [_cells(r) for r in board.rows])
    totals = table(TOTAL_COLUMNS, [_total_cells(c, t) for c, t in board.categories.items()]
                   + [_total_cells("all", board.total)])
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>remoroo leaderboard</title>"
            f"<style>{style}</style></head><body><h1>remoroo leaderboard</h1><h2>Cases</h2>{cases}"
            f"<h2>Totals</h2>{totals}</body></html>\n")


def write_leaderboard(board: Leaderboard, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "leaderboard.json", "md": out / "leaderboard.md", "html": out / "leaderboard.html"}
    paths["json"].write_text(board.model_dump_json(indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(board), encoding="utf-8")
    paths["html"].write_text(render_html(board), encoding="utf-8")
    return paths
