"""``report.html``: the run at a glance, self-contained (no network, no CDN; it works from ``file://``).

A chart per metric over the turns (pygal's SVG, no script), with the target line and the baseline's noise
band or the final confidence interval; each turn's candidates with their rationale, decision and audit
evidence; the delivered diff highlighted by pygments; the witnesses, the verification and the notes.
Every text that came from a brain or a program is escaped.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from remoroo.evidence.events import CandidateDone, Event, Final, TurnDone
from remoroo.evidence.report import Report, fmt

COLOURS = {"SUCCESS": "#1a7f37", "PARTIAL_SUCCESS": "#9a6700", "FAIL": "#cf222e"}
DECISION_COLOURS = {"KEPT": "#1a7f37", "REVERTED": "#57606a", "VETOED": "#cf222e", "REJECTED": "#9a6700"}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#1f2328}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #d0d7de}
.outcome{display:inline-block;color:#fff;padding:.15em .6em;border-radius:.3em;font-weight:600}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:.25em .5em;vertical-align:top}
th{background:#f6f8fa}.decision{font-weight:600}.muted{color:#57606a}
pre,.highlight{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:12px}
.chart{margin:.5em 0}code{font-size:12px}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_run_html(report: Report, events: list[Event]) -> str:
    colour = COLOURS.get(report.outcome, "#57606a")
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>remoroo run {esc(report.run_id)}: {esc(report.outcome)}</title>", f"<style>{CSS}</style>",
        "</head><body>",
        f'<h1>remoroo run {esc(report.run_id)} <span class="outcome" id="outcome" style="background:{colour}">'
        f"{esc(report.outcome)}</span></h1>",
        f"<p><b>Reason:</b> {esc(report.reason)}</p>",
        f"<p><b>Goal:</b> {esc(report.goal)}<br><b>Targets:</b> <code>{esc(report.spec)}</code><br>"
        f"<b>Brain:</b> {esc(report.brain)} ({report.brain_calls} calls) · <b>duration</b> {report.duration_s:.1f}s"
        f" · <b>sandbox</b> {esc(report.sandbox)}</p>",
        "<h2>Metrics</h2>", _metric_table(report),
    ]
    parts += [f'<div class="chart" id="chart-{esc(row.metric)}">{chart}</div>'
              for row, chart in ((row, _chart(report, row.metric, events)) for row in report.metrics) if chart]
    parts += ["<h2>Turns and candidates</h2>", _candidates(report, events)]
    parts += ["<h2>The change</h2>", _diff(report.diff)]
    if report.verification:
        v = report.verification
        parts += ["<h2>Final verification</h2>",
                  f"<p>A fresh copy of the snapshot with the change applied: {esc(v.get('reason') or v.get('message'))}"
                  "</p>"]
    if report.witnesses:
        parts += ["<h2>Failure witnesses of the final state</h2>", "<ul>"]
        parts += [f"<li>{esc(w)}</li>" for w in report.witnesses]
        parts.append("</ul>")
    if report.audit:
        parts += ["<h2>Audit</h2>", "<ul>"]
        parts += [f"<li>turn {a.turn}, candidate {a.candidate}: <b>{esc(a.rule)}</b>: {esc(a.reason)}"
                  f"<pre>{esc(json.dumps(a.evidence, sort_keys=True, indent=1)[:4000])}</pre></li>"
                  for a in report.audit]
        parts.append("</ul>")
    if report.notes:
        parts += ["<h2>Notes</h2>", "<ul>"] + [f"<li>{esc(n)}</li>" for n in report.notes] + ["</ul>"]
    if report.judge:
        parts += ["<h2>Judge (advisory; the outcome above is the engine's)</h2>",
                  f"<blockquote>{esc(report.judge)}</blockquote>"]
    parts += ["<h2>Evidence</h2>", "<ul>"]
    parts += [f'<li><a href="{esc(path)}">{esc(path)}</a></li>' for path in report.evidence.values()]
    parts += ["</ul>", "</body></html>"]
    return "\n".join(parts) + "\n"


def _metric_table(report: Report) -> str:
    rows = ["<table><tr><th>metric</th><th>target</th><th>baseline</th><th>final</th><th>met</th></tr>"]
    for row in report.metrics:
        final = fmt(row.final)
        if row.final_interval is not None and row.final_n is not None:
            final += f" [{row.final_interval[0]:.3g}, {row.final_interval[1]:.3g}], n={row.final_n}"
        met = "—" if row.met is None else ("yes" if row.met else "no")
        rows.append(f"<tr><td>{esc(row.metric)}</td><td><code>{esc('; '.join(row.targets))}</code></td>"
                    f"<td>{esc(fmt(row.baseline))}</td><td>{esc(final)}</td><td>{met}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _chart(report: Report, metric: str, events: list[Event]) -> str:
    """The metric over turns: the baseline, each turn's chosen candidate, the final value; the target line."""
    import pygal

    row = next(r for r in report.metrics if r.metric == metric)
    turns = [e for e in events if isinstance(e, TurnDone)]
    labels = ["baseline", *[f"turn {t.turn}" for t in turns], "final"]
    values = [_number(row.baseline), *[_number(t.metrics.get(metric)) for t in turns], _number(row.final)]
    if sum(v is not None for v in values) < 1:
        return ""
    chart = pygal.Line(js=[], disable_xml_declaration=True, height=280, width=900, explicit_size=True,
                       show_dots=True, dots_size=4, allow_interruptions=True, title=metric, legend_at_bottom=True,
                       print_values=False, truncate_label=20)
    chart.x_labels = labels
    chart.add(metric, values)
    final = next((e for e in events if isinstance(e, Final)), None)
    for status in final.targets if final else []:
        threshold = _number(status.threshold)
        if status.metric == metric and threshold is not None:
            chart.add(f"target: {status.text}", [threshold] * len(labels), stroke_style={"dasharray": "6, 4"},
                      show_dots=False)
    base = _number(row.baseline)
    if base is not None and row.baseline_spread:
        chart.add("baseline noise (± spread)", [base + row.baseline_spread] * len(labels),
                  stroke_style={"dasharray": "2, 3"}, show_dots=False)
        chart.add("", [base - row.baseline_spread] * len(labels), stroke_style={"dasharray": "2, 3"},
                  show_dots=False)
    if row.final_interval is not None:
        lo, hi = row.final_interval
        chart.add("final interval", [None] * (len(labels) - 1) + [lo], show_dots=True, dots_size=3)
        chart.add("", [None] * (len(labels) - 1) + [hi], show_dots=True, dots_size=3)
    return inline_svg(chart.render(is_unicode=True))


def inline_svg(svg: str) -> str:
    """pygal's SVG, made to sit inside an HTML page: no comments, no script (pygal's tooltip config), no
    namespace URLs (HTML5 sets them itself)."""
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<script\b.*?</script>", "", svg, flags=re.S)
    return re.sub(r'\s+xmlns(:xlink)?="http://www\.w3\.org/[^"]*"', "", svg)


def _candidates(report: Report, events: list[Event]) -> str:
    done = [e for e in events if isinstance(e, CandidateDone)]
    if not done:
        return '<p class="muted">No candidate was tried.</p>'
    rows = ["<table><tr><th>turn</th><th>candidate</th><th>decision</th><th>reason</th><th>rationale</th>"
            "<th>files</th><th>metrics</th></tr>"]
    for c in done:
        colour = DECISION_COLOURS.get(c.decision, "#57606a")
        metrics = ", ".join(f"{k}={v}" for k, v in c.metrics.items())
        rows.append(f'<tr class="candidate"><td>{c.turn}</td><td>{c.candidate}</td>'
                    f'<td class="decision" style="color:{colour}">{esc(c.decision)}</td><td>{esc(c.reason)}</td>'
                    f"<td>{esc(c.rationale)}</td><td>{esc(', '.join(c.files))}</td><td>{esc(metrics)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _diff(diff: str) -> str:
    if not diff.strip():
        return '<p class="muted">The run kept no change.</p>'
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import DiffLexer

    return str(highlight(diff[:400_000], DiffLexer(), HtmlFormatter(noclasses=True, cssclass="highlight")))
