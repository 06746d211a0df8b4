"""The command line: ``remoroo run | resume | show | apply | index | bench | doctor | brain serve | schema``.

Exit codes: 0 SUCCESS, 3 PARTIAL_SUCCESS, 1 FAIL, 2 usage or config error.
This is the edge: the only place that reads ``os.environ`` and builds the
frozen :class:`~remoroo.model.config.RunConfig`.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Iterator

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from remoroo.errors import UserError

EXIT = {"SUCCESS": 0, "PARTIAL_SUCCESS": 3, "FAIL": 1}
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Improve a repository against measurable goals, without cheating.")
out = Console(highlight=False, markup=False)  # messages carry brackets ([run], [REDACTED]): never markup
err = Console(stderr=True, highlight=False, markup=False)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            out.print(f"remoroo {version('remoroo')}")
        except PackageNotFoundError:
            out.print("remoroo (not installed as a package)")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Improve a repository against measurable goals, without cheating."""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # a killed run still tears down its processes and reports
    try:
        code = app(standalone_mode=False)
    except UserError as exc:
        err.print(Text("error: ", style="bold red") + Text(str(exc)), soft_wrap=True)
        raise SystemExit(2) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        raise SystemExit(1) from None
    except Exception as exc:  # noqa: BLE001 - usage errors (from whichever click typer bundles), else a bug
        show = getattr(exc, "show", None)
        if isinstance(exc, _click_errors()) and callable(show):
            show()
            raise SystemExit(2) from None
        _crashed(exc)
    raise SystemExit(code if isinstance(code, int) else 0)


def _crashed(exc: BaseException) -> None:
    """A bug outside any run: one line on the screen, the traceback in a file (a run's own are in its folder)."""
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="remoroo-crash-", suffix=".txt", delete=False,
                                     encoding="utf-8") as handle:
        handle.write("".join(traceback.format_exception(exc)))
    err.print(Text("internal error: ", style="bold red") + Text(f"{type(exc).__name__}: {exc} (a bug in remoroo; "
              f"traceback in {handle.name})"), soft_wrap=True)
    raise SystemExit(1) from None


def _click_errors() -> tuple[type[Exception], ...]:
    """The usage-error classes of the click package and of the click bundled into typer, where present."""
    found: list[type[Exception]] = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


@app.command("run")
def run_cmd(
    repo: Path | None = typer.Argument(None, help="Repository to improve (default: current folder)."),
    goal: str | None = typer.Option(None, "--goal", help="What should improve, in words."),
    metrics: str | None = typer.Option(None, "--metrics", help="Targets, e.g. 'fib_10 == 55, runtime_s < 2'."),
    case: Path | None = typer.Option(None, "--case", help="Run a benchmark case.json instead."),
    brain: str | None = typer.Option(None, "--brain", help="search | llm | scripted:FILE | http://HOST:PORT"),
    max_turns: int | None = typer.Option(None, "--max-turns", help="Turn budget."),
    timeout: float | None = typer.Option(None, "--timeout", help="Overall time budget in seconds."),
    keep_work: bool | None = typer.Option(None, "--keep-work", help="Keep the isolated workspace."),
    command_timeout: float | None = typer.Option(None, "--command-timeout", help=(
        "Bound every command, the baseline included (seconds; default: half the run's time for the baseline, "
        "then 3x what each took + 10 s).")),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Candidates per turn (search brain)."),
    workers: int | None = typer.Option(None, "--workers", help="Candidates measured side by side."),
    cluster: str | None = typer.Option(None, "--cluster", help="Measure candidates on dask: local or tcp://HOST:PORT."),
    llm_model: str | None = typer.Option(None, "--llm-model", help="Model name for --brain llm."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible (or Anthropic) base URL."),
    llm_provider: str | None = typer.Option(None, "--llm-provider", help="openai (any compatible) or anthropic."),
    llm_timeout: float | None = typer.Option(None, "--llm-timeout", help=(
        "One attempt of a model call (s, default 300); a stall is tried again while the run's time lasts.")),
    llm_max_output: int | None = typer.Option(None, "--llm-max-output-tokens", help=(
        "The cap on one model answer (default: the endpoint's; 16384 for Anthropic).")),
    llm_context: int | None = typer.Option(None, "--llm-context-tokens", help=(
        "The budget of one model request in tokens (default 24000; 28000 for Anthropic).")),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Token budget for the run's brain calls."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Cost budget (USD) for the run's brain calls."),
    sandbox: str | None = typer.Option(None, "--sandbox", help="on (bubblewrap, the default) | off (unsandboxed)."),
    memory_limit: int | None = typer.Option(None, "--memory-limit-mb", help="Memory of one measured command (MB)."),
    editable: list[str] | None = typer.Option(None, "--editable", help=(
        "Widen what patches may change: a path, folder or glob (repeatable).")),
    allow: list[str] | None = typer.Option(None, "--allow", help=(
        "Lift one audit rule for one path: RULE:PATH, e.g. tampering:src/clock.py (repeatable; the report "
        "records it).")),
    store: str | None = typer.Option(None, "--store", help="Keep the run folder in an S3 store: s3://BUCKET/PREFIX."),
    store_endpoint: str | None = typer.Option(None, "--store-endpoint", help="The S3 store's endpoint URL."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before running the plan's commands."),
    as_json: bool = typer.Option(False, "--json", help="Print the final report as JSON."),
) -> None:
    """Plan, patch an isolated copy, measure, audit and decide; end with a report."""
    from remoroo.brain import client_from_config
    from remoroo.loop.engine import run
    from remoroo.model.case import load_case
    from remoroo.model.config import build_config

    cli: dict[str, Any] = {"brain": brain, "max_turns": max_turns, "timeout_s": timeout, "keep_work": keep_work,
                           "command_timeout_s": command_timeout, "batch_size": batch_size, "workers": workers,
                           "cluster": cluster,
                           "llm_model": llm_model, "llm_base_url": llm_base_url, "llm_provider": llm_provider,
                           "llm_timeout_s": llm_timeout, "llm_max_output_tokens": llm_max_output,
                           "llm_context_tokens": llm_context,
                           "max_tokens": max_tokens, "max_cost_usd": max_cost, "sandbox": sandbox,
                           "memory_limit_mb": memory_limit, "editable": editable or None, "allow": allow or None,
                           "store": store, "store_endpoint": store_endpoint}
    if case is not None:
        if goal or metrics or repo:
            raise UserError("--case takes the repository, goal and metrics from case.json: drop REPO/--goal/--metrics.")
        loaded, repo = load_case(case)
        cli.update(goal=loaded.goal, metrics=loaded.metrics, case_id=loaded.case_id)
        cli["max_turns"] = max_turns if max_turns is not None else loaded.max_turns
        cli["timeout_s"] = timeout if timeout is not None else loaded.timeout_s
    else:
        if not goal or not metrics:
            raise UserError("Give both --goal 'what to improve' and --metrics 'fib_10 == 55' (or --case case.json).")
        cli.update(goal=goal, metrics=metrics)
    repo = (repo or Path.cwd()).resolve()
    if not repo.is_dir():
        raise UserError(f"The repository {repo} does not exist: pass the path of an existing folder.")
    config = build_config(repo, cli, os.environ)
    from remoroo.model.spec import parse_goal

    parse_goal(config.goal, config.metrics)  # bad specs fail before anything is written
    client = client_from_config(config)
    ask = None if yes or not sys.stdin.isatty() else _confirmer(client.name, repo, config.sandbox)
    show = _observer(config, as_json)
    try:
        result = run(config, client, observer=show, confirm=_paused(show, ask) if ask else None)
    finally:
        show.close()
    _finish(result, as_json)


def _observer(config: Any, as_json: bool) -> Any:
    from remoroo.cli.progress import observer_for

    return observer_for(err, as_json, config.max_turns, config.timeout_s, config.max_tokens)


def _paused(show: Any, ask: Any) -> Any:
    """The prompt, with the live panel stopped while the user reads and answers."""
    def confirm(plan: Any) -> bool:
        live = getattr(show, "live", None)
        if live is not None:
            live.stop()
        try:
            return bool(ask(plan))
        finally:
            if live is not None:
                live.start()

    return confirm


def _confirmer(brain: str, repo: Path, sandbox: str) -> Any:
    """The prompt before a validated plan's commands first run: it names them (asked again only when a replan
    brings new ones)."""
    approved: set[str] = set()

    def confirm(plan: Any) -> bool:
        commands = [c.run for c in plan.commands]
        if set(commands) <= approved:
            return True
        err.print(f"The brain ({brain}) planned these commands, to run on an isolated copy of {repo} "
                  f"({'sealed in a bubblewrap sandbox' if sandbox == 'on' else 'UNSANDBOXED'}):", soft_wrap=True)
        for command in plan.commands:
            role = f" [{command.role}]" if getattr(command, "role", "job") != "job" else ""
            err.print(f"  {command.name}{role}: {command.run}", soft_wrap=True)
        for resolved in getattr(plan, "resolved_targets", []):
            err.print(f"  target read from the goal: {resolved.clause!r} -> {resolved.spec}", soft_wrap=True)
        ok = typer.confirm("Run them?", default=False, err=True)
        if ok:
            approved.update(commands)
        return ok

    return confirm


def _finish(result: Any, as_json: bool) -> None:
    report_path = result.run_dir / "final_report.md"
    if as_json:
        from remoroo.cli.progress import report_line

        sys.stdout.write(report_line((result.run_dir / "final_report.json").read_text(encoding="utf-8")))
    else:
        colour = {"SUCCESS": "green", "PARTIAL_SUCCESS": "yellow", "FAIL": "red"}[result.outcome]
        out.print(Text(result.outcome, style=f"bold {colour}") + Text(f": {result.reason}"), soft_wrap=True)
        out.print(f"report: {report_path}", soft_wrap=True)
    raise typer.Exit(EXIT[result.outcome])


REPO_OPTION = typer.Option(None, "--repo", help="The repository the run belongs to (default: any under this folder).")


def _run_dir(run_id: str, repo: Path | None) -> Path:
    """A run by id (or a unique prefix, or 'latest'): in ``--repo``, else anywhere under the current folder."""
    from remoroo.evidence.ledger import locate_run

    if repo is not None:
        return locate_run(repo.resolve(), run_id, below=False)
    return locate_run(Path.cwd().resolve(), run_id, below=True)


@app.command("show")
def show_cmd(
    run_id: str = typer.Argument("latest", help="A run id (or a unique prefix), or 'latest'."),
    repo: Path | None = REPO_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print final_report.json."),
) -> None:
    """Show a run's outcome, reason, metric table and evidence."""
    from remoroo.evidence.report import Report, fmt

    run_dir = _run_dir(run_id, repo)
    report_file = run_dir / "final_report.json"
    if not report_file.is_file():
        from remoroo.evidence.ledger import RunFolder
        from remoroo.loop.liveness import run_state

        state, pid = run_state(RunFolder(run_dir))
        if state == "running":
            out.print(f"run {run_dir.name}: still running (pid {pid}); evidence so far: {run_dir}", soft_wrap=True)
            raise typer.Exit(0)
        owner = run_dir.parents[2]
        out.print(f"run {run_dir.name}: interrupted; resume with: remoroo resume {run_dir.name}"
                  + ("" if owner == Path.cwd().resolve() else f" --repo {owner}"), soft_wrap=True)
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(report_file.read_text(encoding="utf-8"))
        raise typer.Exit(0)
    report = Report.model_validate_json(report_file.read_text(encoding="utf-8"))
    out.print(Text(f"run {report.run_id}: ") + Text(report.outcome, style="bold") + Text(f" — {report.reason}"),
              soft_wrap=True)
    table = Table("metric", "target", "baseline", "final", "met")
    for row in report.metrics:
        met = "—" if row.met is None else ("yes" if row.met else "no")
        table.add_row(row.metric, "; ".join(row.targets), fmt(row.baseline), fmt(row.final), met)
    out.print(table)
    out.print(f"evidence: {run_dir}", soft_wrap=True)


@app.command("apply")
def apply_cmd(
    run_id: str = typer.Argument("latest", help="A run id (or a unique prefix), or 'latest'."),
    repo: Path | None = typer.Option(None, "--repo", help=(
        "The repository to apply the run's change to (default: the run's own, found under this folder).")),
    without_instrumentation: bool = typer.Option(False, "--without-instrumentation", help=(
        "Leave out instrumentation.diff (the metric reporting the run added) when the fix applies without it.")),
) -> None:
    """Apply what a run verified to your working tree: its instrumentation, then its fix (refuses on conflicts)."""
    from remoroo.evidence.deliver import apply_run

    run_dir = _run_dir(run_id, repo)
    target = repo.resolve() if repo is not None else run_dir.parents[2]
    done = apply_run(target, run_id, instrumentation=not without_instrumentation, run_dir=run_dir)
    if not done.files:
        out.print(f"run {done.run_dir.name} kept no change: nothing to apply.", soft_wrap=True)
        return
    out.print(f"applied {' then '.join(done.parts)} of run {done.run_dir.name} to {target}: "
              f"{', '.join(done.files)}", soft_wrap=True)


@app.command("runs")
def runs_cmd(repo: Path | None = REPO_OPTION,
             as_json: bool = typer.Option(False, "--json", help="One JSON object per run.")) -> None:
    """List the runs (in --repo, else under this folder): id, date, goal, outcome, brain."""
    from remoroo.evidence.ledger import RunFolder, all_runs
    from remoroo.loop.liveness import run_state

    root = (repo or Path.cwd()).resolve()
    found = all_runs(root, below=repo is None)
    rows = []
    for run_dir in found:
        info = _json_file(run_dir / "run.json")
        report = _json_file(run_dir / "final_report.json")
        state, _ = run_state(RunFolder(run_dir))
        stamp = run_dir.name.split("-")
        date = f"{stamp[0][:4]}-{stamp[0][4:6]}-{stamp[0][6:]} {stamp[1][:2]}:{stamp[1][2:4]}" if len(stamp) > 2 else ""
        rows.append({"id": run_dir.name, "date": date, "repo": str(run_dir.parents[2]),
                     "goal": str(info.get("config", {}).get("goal", "")),
                     "outcome": report.get("outcome") or state.upper(), "brain": str(info.get("brain", ""))})
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    if not rows:
        out.print(f"no run in {root}" + (" or below it" if repo is None else ""), soft_wrap=True)
        return
    table = Table("id", "date (UTC)", "outcome", "goal", "brain", "repo")
    for row in rows:
        table.add_row(row["id"], row["date"], row["outcome"], row["goal"][:60], row["brain"],
                      os.path.relpath(row["repo"], root) if row["repo"].startswith(str(root)) else row["repo"])
    out.print(table)


@app.command("diff")
def diff_cmd(run_id: str = typer.Argument("latest", help="A run id (or a unique prefix), or 'latest'."),
             turn: int | None = typer.Option(None, "--turn", help="The patch of one turn instead of the final one."),
             repo: Path | None = REPO_OPTION) -> None:
    """Print a run's final change (instrumentation, then fix), or one turn's patch."""
    run_dir = _run_dir(run_id, repo)
    if turn is not None:
        path = run_dir / "turns" / str(turn) / "patch.diff"
        if not path.is_file():
            raise UserError(f"Run {run_dir.name} has no patch for turn {turn}: its turns are "
                            f"{', '.join(sorted(p.name for p in (run_dir / 'turns').iterdir() if p.name != '0'))}"
                            if (run_dir / "turns").is_dir() else f"Run {run_dir.name} ran no turn.")
        sys.stdout.write(path.read_text(encoding="utf-8"))
        return
    parts = [p for p in (run_dir / "instrumentation.diff", run_dir / "final_patch.diff") if p.is_file()]
    if not parts:
        raise UserError(f"Run {run_dir.name} has no final_patch.diff yet (it did not finish): see 'remoroo show'.")
    for part in parts:
        if len(parts) > 1:
            sys.stdout.write(f"# {part.name}\n")
        sys.stdout.write(part.read_text(encoding="utf-8"))


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}



@app.command("resume")
def resume_cmd(
    run_id: str = typer.Argument("latest", help="A run id (or a unique prefix), or 'latest'."),
    repo: Path | None = REPO_OPTION,
    store: str | None = typer.Option(None, "--store", help=(
        "Fetch the run from this S3 store (s3://BUCKET/PREFIX) when it is not here: resume on another machine.")),
    store_endpoint: str | None = typer.Option(None, "--store-endpoint", help="The S3 store's endpoint URL."),
    as_json: bool = typer.Option(False, "--json", help="Print the final report as JSON."),
) -> None:
    """Carry on a run that was killed (kill -9, a power cut): it ends as the uninterrupted run would have."""
    from remoroo.brain import client_from_config
    from remoroo.evidence.ledger import RUNS_DIR, RunFolder, find_run
    from remoroo.exec.workspace import ensure_remoroo_dir
    from remoroo.loop.engine import resume
    from remoroo.model.config import saved_config

    root = (repo or Path.cwd()).resolve()
    run_dir = None
    if not store:
        run_dir = _run_dir(run_id, repo)
        root = run_dir.parents[2]
    elif run_id != "latest":
        run_dir = find_run(root, run_id)
    if run_dir is None and store:
        from remoroo.errors import StoreError
        from remoroo.evidence.store import ObjectStore, fetch_run, newest_run

        try:
            objects = ObjectStore(store, store_endpoint)
            wanted = newest_run(objects) if run_id == "latest" else run_id
            run_dir = find_run(root, wanted)  # already here: the local copy is never older than the store's
            if run_dir is None:
                ensure_remoroo_dir(root)
                run_dir = fetch_run(objects, wanted, root / RUNS_DIR)
                err.print(f"fetched run {run_dir.name} from {store}", soft_wrap=True)
        except StoreError as exc:
            raise UserError(f"{exc}: check --store and --store-endpoint.") from exc
    if run_dir is None:
        raise UserError(f"No run {run_id!r} under {root}/.remoroo/runs: check the id with 'remoroo show' (or "
                        "fetch it with --store s3://BUCKET/PREFIX).")
    try:
        saved = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["config"]
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"Run {run_dir.name} has no readable run.json ({exc}): it cannot be resumed.") from exc
    if store:
        saved = {**saved, "store": store, "store_endpoint": store_endpoint or saved.get("store_endpoint")}
    config = saved_config(saved, root, os.environ)
    show = _observer(config, as_json)
    try:
        result = resume(RunFolder(run_dir), config, client_from_config(config), observer=show)
    finally:
        show.close()
    _finish(result, as_json)


@app.command("index")
def index_cmd(repo: Path = typer.Argument(Path("."), help="Repository to index.")) -> None:
    """Index a repository: .remoroo/repo_index.json and .remoroo/system_diagram.md."""
    from collections import Counter

    from remoroo.index import load_index, write_index

    root = repo.resolve()
    if not root.is_dir():
        raise UserError(f"The repository {root} does not exist: pass the path of an existing folder.")
    index_path, diagram, reparsed = write_index(root)
    index = load_index(index_path)
    assert index is not None
    languages = Counter(e.language for e in index.files.values() if e.language != "text")
    counts = ", ".join(f"{n} {lang}" for lang, n in languages.most_common())
    out.print(f"indexed {root}: {len(index.files)} file(s) ({counts or 'no source'}), {reparsed} parsed now, "
              f"{len(index.entry_points)} entry point(s)", soft_wrap=True)
    out.print(f"index: {index_path}\ndiagram: {diagram}", soft_wrap=True)


@app.command("bench")
def bench_cmd(
    cases_dir: Path = typer.Argument(..., help="Folder of cases: */case.json at any depth."),
    include: list[str] = typer.Option(None, "--include", help=(
        "A case id, a case folder, or a category glob such as 'should_succeed/*' (repeatable).")),
    rerun: bool = typer.Option(False, "--rerun", help="Run cases that already have a final_report.md."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Cases run at once."),
    cluster: str | None = typer.Option(None, "--cluster", help="local (LocalCluster on 127.0.0.1) or tcp://HOST:PORT"),
    brain: str = typer.Option("search", "--brain", help="The brain every case runs with."),
    timeout: float | None = typer.Option(None, "--timeout", min=1, help=(
        "Each case's time budget in seconds (default: the case's own timeout_s).")),
    max_turns: int | None = typer.Option(None, "--max-turns", min=0, help=(
        "Each case's turns (default: the case's own max_turns).")),
    out_dir: Path | None = typer.Option(None, "--out", help=(
        "Where the leaderboard goes (default: CASES_DIR/.remoroo/bench, ignored by git).")),
    store: str | None = typer.Option(None, "--store", help=(
        "Share results through an S3 store (s3://BUCKET/PREFIX): machines skip each other's finished cases.")),
    store_endpoint: str | None = typer.Option(None, "--store-endpoint", help="The S3 store's endpoint URL."),
) -> None:
    """Run a suite of cases incrementally; the leaderboard (json, md, html) is rewritten after every case."""
    from remoroo.bench import BenchOptions, build_leaderboard, discover, write_leaderboard
    from remoroo.bench.runner import python3_in_use
    from remoroo.errors import StoreError

    cases = discover(cases_dir.resolve(), include or None)
    if not cases:
        raise UserError(f"No case under {cases_dir} matches: check the folder and the --include patterns.")
    options = BenchOptions(brain=brain, rerun=rerun, jobs=jobs, cluster=cluster, store=store,
                           store_endpoint=store_endpoint, timeout_s=timeout, max_turns=max_turns)
    if out_dir is None:  # beside the cases, hidden from their git like every run folder
        from remoroo.exec.workspace import ensure_remoroo_dir

        out_dir = ensure_remoroo_dir(cases_dir.resolve()) / "bench"
    python3 = python3_in_use(os.environ)
    out.print(f"{len(cases)} case(s), brain {brain}; the cases' commands run {python3}", soft_wrap=True)
    results: list[Any] = []

    def publish() -> dict[str, Path]:
        return write_leaderboard(build_leaderboard(results, brain=brain, python3=python3), out_dir.resolve())

    try:
        for result in _bench(cases, options):
            results.append(result)
            publish()
    except StoreError as exc:
        raise UserError(f"{exc}: check --store and --store-endpoint.") from exc
    paths = publish()
    if store:
        from remoroo.bench.runner import shared_results

        try:
            shared = shared_results(options)
            if shared is not None:
                shared.publish(paths)
        except StoreError as exc:
            err.print(f"the leaderboard stays local: {exc}", soft_wrap=True)
    total = build_leaderboard(results).total
    rate = "n/a" if total.success_rate is None else f"{100 * total.success_rate:.1f}%"
    errors = f", {total.engine_errors} engine error(s)" if total.engine_errors else ""
    out.print(f"{total.correct}/{total.scored} correct ({rate}){errors}; leaderboard: {paths['md']}", soft_wrap=True)


def _bench(cases: list[Any], options: Any) -> Iterator[Any]:
    from remoroo.bench import run_suite

    for done, result in enumerate(run_suite(cases, options), 1):
        mark = {True: "correct", False: "WRONG", None: "unscored"}[result.correct]
        reason = f": {result.reason[:160]}" if result.status in ("crashed", "refused", "timeout") else ""
        out.print(f"[{done}/{len(cases)}] {result.key}: {result.outcome} ({result.status}, {mark}, "
                  f"{result.wall_s:.1f}s){reason}", soft_wrap=True, markup=False, highlight=False)
        yield result


brain_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                        help="The brain as a service.")
app.add_typer(brain_app, name="brain")


@brain_app.command("serve")
def brain_serve_cmd(
    brain: str = typer.Option("search", "--brain", help="search | llm | scripted:FILE"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(0, "--port", help="Port (0: any free port; the address is printed)."),
    log_requests: Path | None = typer.Option(None, "--log-requests", help="Append every request to this file."),
    llm_model: str = typer.Option("", "--llm-model", help="Model name for --brain llm."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible (or Anthropic) base URL."),
    llm_provider: str = typer.Option("openai", "--llm-provider", help="openai or anthropic."),
    llm_timeout: float = typer.Option(300.0, "--llm-timeout", help=(
        "One attempt of a model call (s); a stall is tried again within the call's time.")),
    llm_max_output: int | None = typer.Option(None, "--llm-max-output-tokens", help="The cap on one model answer."),
    llm_context: int | None = typer.Option(None, "--llm-context-tokens", help="The budget of one model request."),
) -> None:
    """Serve a brain over HTTP for 'remoroo run --brain http://HOST:PORT'."""
    from remoroo.brain import make_brain
    from remoroo.brain.llm.brain import LLMSettings
    from remoroo.brain.server import main_serve

    vendor_key = "ANTHROPIC_API_KEY" if llm_provider == "anthropic" else "OPENAI_API_KEY"
    settings = LLMSettings(provider=llm_provider, model=llm_model, base_url=llm_base_url, timeout_s=llm_timeout,
                           max_output_tokens=llm_max_output, context_tokens=llm_context,
                           api_key=os.environ.get("REMOROO_LLM_API_KEY") or os.environ.get(vendor_key))
    served, _ = make_brain(brain, settings)
    main_serve(served, host, port, log_requests)


@app.command("doctor")
def doctor_cmd() -> None:
    """Say what the measurement sandbox can do on this machine."""
    from remoroo.exec.sandbox import check, describe

    table = Table("check", "result")
    for name, result in describe():
        table.add_row(name, result)
    out.print(table)
    problem = check()
    if problem is None:
        out.print("measured commands run sealed (bubblewrap).", soft_wrap=True)
        return
    out.print(Text("runs need --sandbox off here: ", style="bold red") + Text(problem), soft_wrap=True)
    raise typer.Exit(1)


@app.command("schema")
def schema_cmd(name: str = typer.Argument(..., help="plan | patch | report | case | brain-request | "
                                                     "brain-response | scripted-brain")) -> None:
    """Print the JSON Schema of a contract."""
    from remoroo.cli.schema import schema

    sys.stdout.write(json.dumps(schema(name), indent=2) + "\n")


if __name__ == "__main__":
    main()
