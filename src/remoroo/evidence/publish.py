"""Publish a run's reports: ``report.html``, ``final_report.md`` and, last, ``final_report.json`` (its
presence marks a finished run)."""

from __future__ import annotations

from remoroo.evidence.html import render_run_html
from remoroo.evidence.ledger import RunFolder
from remoroo.evidence.report import Report, build_report, evidence_files, render_markdown
from remoroo.model.outcomes import Outcome


def write_reports(folder: RunFolder) -> Report:
    report = build_report(folder)
    folder.write_text("report.html", render_run_html(report, folder.events()))
    folder.write_text("final_report.md", render_markdown(report))
    folder.write_text("final_report.json", report.model_dump_json(indent=2) + "\n", durable=True)
    return report


def write_fallback_report(folder: RunFolder, outcome: Outcome, reason: str, problem: str) -> None:
    """A minimal report when the full one cannot be built: the outcome is still stated, once."""
    report = Report(run_id=folder.run_id, outcome=outcome, reason=reason, goal="", spec="", brain="", metrics=[],
                    turns=[], audit=[], flags=[], verification=None, duration_s=0.0, baseline_duration_s=None,
                    brain_calls=0, notes=[problem], evidence=evidence_files(folder))
    folder.write_text("final_report.md", render_markdown(report))
    folder.write_text("final_report.json", report.model_dump_json(indent=2) + "\n", durable=True)
