"""The closed vocabularies of a run: outcomes, decisions and audit rules, used end to end."""

from __future__ import annotations

from typing import Literal, get_args

Outcome = Literal["SUCCESS", "PARTIAL_SUCCESS", "FAIL"]
Decision = Literal["BASELINE", "KEPT", "REVERTED", "REJECTED", "VETOED"]
AuditRule = Literal["protected_paths", "editable_area", "metric_code", "literal_metric", "special_case", "tampering",
                    "measurement_branching", "metric_without_work", "behaviour_preservation", "provenance",
                    "hollow_tests"]

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
RANK: dict[Outcome, int] = {"FAIL": 0, "PARTIAL_SUCCESS": 1, "SUCCESS": 2}
