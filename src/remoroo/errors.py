"""The four error families of remoroo.

``FeedbackError``
    Goes back to the brain as feedback, counted and capped by the engine: a
    patch that did not apply, a plan that failed validation. The message is
    written for a model to act on.

``EngineError``
    Ends the run as FAIL, with evidence: a command that could not be started,
    a git failure in the workspace, a brain that broke its protocol or timed
    out (``BrainTimeout``), a token or cost budget used up (``BudgetExceeded``).

``InternalError``
    A bug: an exception that no stage expected (``OSError`` from odd
    repository contents, a library's surprise). The engine's last-resort
    boundary turns it into this; the run still ends FAIL with its report,
    the traceback goes to ``internal_error.txt`` in the run folder (never to
    the user's screen), and the kept progress stays deliverable.

``UserError``
    The user must fix something: a malformed goal, metric spec, case.json,
    plan or patch file, or a missing repository. The CLI prints the message
    (which names the problem and the fix) and exits with code 2.

Exceptions never log themselves; the stage that catches one records it in
the run ledger. Vendor exceptions (git, subprocess, pydantic, httpx, ...) are
translated into one of these at the adapter that calls the vendor, raised
``from`` the original.
"""

from __future__ import annotations


class RemorooError(Exception):
    """Base of every error remoroo raises on purpose."""


class FeedbackError(RemorooError):
    """A problem the brain can correct on its next call."""

    def __init__(self, message: str, *, kind: str = "feedback") -> None:
        super().__init__(message)
        self.kind = kind


class PlanRejected(FeedbackError):
    """The plan failed validation; the message lists every defect."""

    def __init__(self, defects: list[str]) -> None:
        self.defects = list(defects)
        body = "\n".join(f"- {d}" for d in self.defects)
        super().__init__(f"The plan was rejected:\n{body}", kind="plan_rejected")


class PatchRejected(FeedbackError):
    """A patch could not be parsed or applied; nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="patch_rejected")


class EngineError(RemorooError):
    """A failure that ends the run as FAIL, with evidence kept."""


class GitError(EngineError):
    """A git command in the workspace failed."""


class BrainError(EngineError):
    """The brain broke the protocol or could not be reached."""


class BrainTimeout(BrainError):
    """A model call did not answer within its hard timeout."""


class BrainUnavailable(BrainError):
    """A model endpoint failed in a way that may pass: a 429, a 5xx, a dropped connection.

    ``retry_after`` is the wait the endpoint asked for (seconds), when it said one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class ContextTooLong(BrainError):
    """The request was longer than the model's context window: send it again smaller."""


class BudgetExceeded(EngineError):
    """A budget (tokens, cost) is used up before an expensive step."""


class StoreError(EngineError):
    """The artifact store could not be reached or written (the run's local folder still holds everything)."""


class CommandError(EngineError):
    """A planned command could not be started at all."""


class InternalError(RemorooError):
    """An exception no stage expected, caught at the engine's last-resort boundary."""

    def __init__(self, cause: BaseException, where: str = "") -> None:
        self.cause = cause
        self.where = where
        text = str(cause).strip() or "(no message)"
        super().__init__(f"{type(cause).__name__}: {text}" + (f" (during {where})" if where else ""))


class UserError(RemorooError):
    """Bad input from the user: exit code 2 with a message naming the fix."""


class SpecError(UserError):
    """The metric spec cannot be parsed."""


class CaseError(UserError):
    """A case.json file is malformed."""
