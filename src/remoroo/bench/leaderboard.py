"""The leaderboard: one row per case, totals per category, robustness counters; JSON, Markdown, HTML."""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

from pydantic import BaseModel, Field

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
    refused: int = 0
    engine_errors: int = 0  # crashed, refused or killed: no outcome reached, never counted as a correct FAIL
    skipped: int = 0


class Leaderboard(BaseModel):
    rows: list[CaseResult]
    categories: dict[str, Totals]
    total: Totals
    brain: str = ""
    python3: str = Field(default="", description="The python3 the cases' commands run (from PATH), with its version.")
    generated: str = Field(default="", description="When the board was built (UTC).")


def _totals(rows: list[CaseResult]) -> Totals:
    scored = [r for r in rows if r.correct is not None]
    correct = sum(1 for r in scored if r.correct)
    return Totals(
        cases=len(rows), scored=len(scored), correct=correct,
        success_rate=round(correct / len(scored), 4) if scored else None,
        timeouts=sum(1 for r in rows if r.status == "timeout"), vetoes=sum(r.vetoes for r in rows),
        malformed_brain_outputs=sum(r.malformed_brain_outputs for r in rows),
        invalid=sum(1 for r in rows if r.status == "invalid"), crashed=sum(1 for r in rows if r.status == "crashed"),
        refused=sum(1 for r in rows if r.status == "refused"),
        engine_errors=sum(1 for r in rows if r.status in ("crashed", "refused", "timeout")),
        skipped=sum(1 for r in rows if r.status == "skipped"),
    )


def build_leaderboard(results: list[CaseResult], brain: str = "", python3: str = "") -> Leaderboard:
    rows = sorted(results, key=lambda r: r.key)
    categories = sorted({r.category for r in rows})
    return Leaderboard(rows=rows, categories={c or "(none)": _totals([r for r in rows if r.category == c])
                                              for c in categories}, total=_totals(rows), brain=brain, python3=python3,
                       generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


COLUMNS = ("case", "category", "outcome", "expected", "correct", "turns", "wall time", "status")


def _cells(r: CaseResult) -> list[str]:
    correct = "—" if r.correct is None else ("yes" if r.correct else "no")
    return [r.case_id, r.category or "—", r.outcome, r.expected, correct, str(r.turns), f"{r.wall_s:.1f}s", r.status]


def _total_cells(name: str, t: Totals) -> list[str]:
    rate = "—" if t.success_rate is None else f"{100 * t.success_rate:.1f}%"
    return [name, str(t.cases), f"{t.correct}/{t.scored}", rate, str(t.engine_errors), str(t.timeouts),
            str(t.vetoes), str(t.malformed_brain_outputs), str(t.invalid), str(t.crashed), str(t.refused),
            str(t.skipped)]


TOTAL_COLUMNS = ("category", "cases", "correct", "success rate", "engine errors", "timeouts", "vetoes",
                 "malformed brain outputs", "invalid", "crashed", "refused", "skipped")


def render_markdown(board: Leaderboard) -> str:
    def table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
            ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]

    lines = ["# remoroo leaderboard", "", f"brain: {board.brain or '—'} · python3: {board.python3 or '—'} · "
             f"built {board.generated or '—'}", "", "## Cases", ""]
    lines += table(COLUMNS, [_cells(r) for r in board.rows])
    lines += ["", "## Totals", ""]
    lines += table(TOTAL_COLUMNS, [_total_cells(c, t) for c, t in board.categories.items()]
                   + [_total_cells("all", board.total)])
    return "\n".join(lines) + "\n"


OUTCOME_COLOURS = {"SUCCESS": "#1a7f37", "PARTIAL_SUCCESS": "#9a6700", "FAIL": "#cf222e", "TIMEOUT": "#8250df",
                   "CRASH": "#cf222e", "REFUSED": "#cf222e", "INVALID": "#57606a"}


def render_html(board: Leaderboard, out: Path | None = None) -> str:
    """Self-contained: outcome colours, expected against got, a link to each case's report, a wall-time chart."""
    esc = html.escape

    def link(r: CaseResult) -> str:
        if not r.report:
            return "—"
        page = Path(r.report).with_name("report.html")
        target = page if page.is_file() else Path(r.report)
        href = os.path.relpath(target, out) if out is not None else str(target)
        return f'<a class="report" href="{esc(href)}">{esc(target.name)}</a>'

    rows = []
    for r in board.rows:
        colour = OUTCOME_COLOURS.get(r.outcome, "#57606a")
        correct = "—" if r.correct is None else ("yes" if r.correct else "no")
        mark = "" if r.correct is None else (" ok" if r.correct else " wrong")
        rows.append(f'<tr class="case{mark}"><td>{esc(r.case_id)}</td><td>{esc(r.category or "—")}</td>'
                    f'<td class="outcome" style="color:{colour};font-weight:600">{esc(r.outcome)}</td>'
                    f"<td>{esc(r.expected)}</td><td>{correct}</td><td>{r.turns}</td><td>{r.wall_s:.1f}s</td>"
                    f"<td>{esc(r.status)}</td><td>{link(r)}</td></tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in (*COLUMNS, "report"))
    cases = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    total_head = "".join(f"<th>{esc(h)}</th>" for h in TOTAL_COLUMNS)
    total_rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in _total_cells(name, t)) + "</tr>"
                         for name, t in [*board.categories.items(), ("all", board.total)])
    totals = f"<table><thead><tr>{total_head}</tr></thead><tbody>{total_rows}</tbody></table>"
    style = ("body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin-bottom:2rem}"
             "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}"
             "tr.wrong td:first-child{border-left:4px solid #cf222e}"
             "tr.ok td:first-child{border-left:4px solid #1a7f37}")
    meta = (f"<p>brain: <b>{esc(board.brain or '—')}</b> · python3: {esc(board.python3 or '—')} · "
            f"built {esc(board.generated or '—')}</p>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>remoroo leaderboard</title>"
            f"<style>{style}</style></head><body><h1>remoroo leaderboard</h1>{meta}<h2>Cases</h2>{cases}"
            f"<h2>Wall time per case</h2><div class='chart' id='wall-time'>{_wall_chart(board)}</div>"
            f"<h2>Totals</h2>{totals}</body></html>\n")


def _wall_chart(board: Leaderboard) -> str:
    import pygal

    from remoroo.evidence.html import inline_svg

    chart = pygal.HorizontalBar(js=[], disable_xml_declaration=True, width=900, explicit_size=True, show_legend=False,
                                height=max(160, 40 + 28 * len(board.rows)), title="wall time (s)")
    chart.x_labels = [r.case_id for r in board.rows]
    chart.add("wall time", [{"value": round(r.wall_s, 2), "color": OUTCOME_COLOURS.get(r.outcome, "#57606a")}
                            for r in board.rows])
    return inline_svg(chart.render(is_unicode=True))


def write_leaderboard(board: Leaderboard, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "leaderboard.json", "md": out / "leaderboard.md", "html": out / "leaderboard.html"}
    paths["json"].write_text(board.model_dump_json(indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(board), encoding="utf-8")
    paths["html"].write_text(render_html(board, out), encoding="utf-8")
    return paths
