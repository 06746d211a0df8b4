"""Run configuration, built once at the edge and frozen.

The LLM API key comes from ``REMOROO_LLM_API_KEY``, else ``OPENAI_API_KEY`` or
``ANTHROPIC_API_KEY``; it is never written to run.json.

Layers, lowest first: defaults < ``REPO/remoroo.toml`` (a ``[run]`` table) <
environment (``REMOROO_<KEY>``) < CLI flags. ``RunConfig.sources`` records
where each value came from, and run.json keeps it. Nothing below the CLI
reads ``os.environ``: the environment reaches the engine only through this
config.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from remoroo.errors import UserError
from remoroo.model.budgets import Budgets
from remoroo.model.outcomes import AuditRule

# s3://BUCKET/PREFIX: a bucket name of 3-63 lower-case letters, digits, dots or dashes (evidence/store parses it)
STORE_URL = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(\S*))?")

TUNABLE = {
    "brain": str,
    "max_turns": int,
    "timeout_s": float,
    "stagnation_turns": int,
    "max_replans": int,
    "max_plan_attempts": int,
    "max_patch_reflections": int,
    "grace_s": float,
    "context_budget_chars": int,
    "noise_rel_timing": float,
    "keep_work": bool,
    "batch_size": int,
    "max_hydrations": int,
    "repeats": int,
    "workers": int,
    "cluster": str,
    "allow_paths": list,
    "editable": list,
    "allow": list,
    "llm_provider": str,
    "llm_model": str,
    "llm_base_url": str,
    "llm_timeout_s": float,
    "llm_max_output_tokens": int,
    "llm_context_tokens": int,
    "llm_price_in_per_mtok": float,
    "llm_price_out_per_mtok": float,
    "max_tokens": int,
    "max_cost_usd": float,
    "command_timeout_s": float,
    "sandbox": str,
    "memory_limit_mb": int,
    "max_processes": int,
    "max_file_mb": int,
    "log_cap_mb": float,
    "store": str,
    "store_endpoint": str,
}


class RunConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    repo: Path
    goal: str
    metrics: str
    case_id: str | None = None
    brain: str = "search"
    max_turns: int = Field(default=8, ge=0, le=1000)
    timeout_s: float = Field(default=600.0, gt=0)
    stagnation_turns: int = Field(default=3, ge=1)
    max_replans: int = Field(default=1, ge=0)
    max_plan_attempts: int = Field(default=3, ge=1)
    max_patch_reflections: int = Field(default=3, ge=0)
    grace_s: float = Field(default=1.0, ge=0)
    context_budget_chars: int = Field(default=60_000, ge=1000)
    noise_rel_timing: float = Field(default=0.10, ge=0)
    keep_work: bool = False
    batch_size: int = Field(default=6, ge=1, le=32)
    repeats: int = Field(default=0, ge=0, le=50, description=(
        "Measurements per state; 0: adaptive (a timing goal: side by side with the kept state, up to 24 a side, "
        "stopping once the answer is clear); N: at most N a side."))
    max_hydrations: int = Field(default=2, ge=0, le=10, description="Rounds of files sent on a brain's request.")
    allow_paths: list[str] = Field(default_factory=list, description=(
        "Protected paths the user lets patches change (e.g. tests/ when the goal is to fix them)."))
    editable: list[str] = Field(default_factory=list, description=(
        "Paths, folders or globs patches may change beyond what the plan's patch intents name."))
    allow: list[str] = Field(default_factory=list, description=(
        "Audit overrides, RULE:PATH (RULE an audit rule or '*'): that rule does not veto changes to PATH."))
    workers: int = Field(default=2, ge=1, le=64, description="Candidates measured at once (1 for timing goals).")
    cluster: str | None = Field(default=None, description=(
        "Measure candidates on dask.distributed: 'local' (a LocalCluster on 127.0.0.1) or tcp://HOST:PORT."))
    command_timeout_s: float = Field(default=60.0, gt=0)
    sandbox: Literal["on", "off"] = Field(default="on", description=(
        "'on': every measured command runs in a bubblewrap sandbox; 'off': process groups only (unsandboxed)."))
    memory_limit_mb: int = Field(default=8192, ge=16, description="Memory of one measured command's process tree.")
    max_processes: int = Field(default=1024, ge=4, description="Processes of one measured command at once.")
    max_file_mb: int = Field(default=4096, ge=1, description="Largest file a measured command may write.")
    log_cap_mb: float = Field(default=10.0, gt=0, description="Output kept per stream of a measured command.")
    llm_provider: Literal["openai", "anthropic"] = "openai"
    llm_model: str = ""
    llm_base_url: str | None = None
    llm_timeout_s: float = Field(default=300.0, gt=0, description=(
        "One attempt of a model call (s); a stalled attempt is tried again while the run's time lasts."))
    llm_max_output_tokens: int | None = Field(default=None, gt=0, description=(
        "The cap on one answer (default: the endpoint's own; 16384 for Anthropic)."))
    llm_context_tokens: int | None = Field(default=None, ge=2000, description=(
        "The budget of one request, in tokens (default: 24000 OpenAI-compatible, 28000 Anthropic)."))
    llm_price_in_per_mtok: float = Field(default=0.0, ge=0)
    llm_price_out_per_mtok: float = Field(default=0.0, ge=0)
    llm_api_key: str | None = Field(default=None, exclude=True, repr=False)
    max_tokens: int | None = Field(default=None, gt=0, description="Token budget for the whole run.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Cost budget for the whole run.")
    store: str | None = Field(default=None, description=(
        "An S3-compatible artifact store, s3://BUCKET/PREFIX: every run folder is copied there as it is written."))
    store_endpoint: str | None = Field(default=None, description=(
        "The store's endpoint URL (a local SeaweedFS or MinIO, say); default: boto3's own settings."))
    sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("cluster")
    @classmethod
    def _cluster_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"local|tcp://[^\s/:]+:\d{1,5}", value):
            raise ValueError(f"{value!r} is neither 'local' nor a scheduler address such as tcp://HOST:8786")
        return value

    @field_validator("store")
    @classmethod
    def _store_location(cls, value: str | None) -> str | None:
        if value is not None and not STORE_URL.fullmatch(value):
            raise ValueError(f"{value!r} is not s3://BUCKET/PREFIX")
        return value

    @field_validator("allow")
    @classmethod
    def _overrides(cls, value: list[str]) -> list[str]:
        rules = set(get_args(AuditRule)) | {"*"}
        for item in value:
            rule, sep, path = item.partition(":")
            if not sep or not path.strip() or rule not in rules:
                raise ValueError(f"{item!r} is not RULE:PATH with RULE one of {', '.join(sorted(rules))}")
        return value

    command_env: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    def budgets(self) -> Budgets:
        """This run's budgets; the wall clock starts now."""
        return Budgets(max_turns=self.max_turns, timeout_s=self.timeout_s, stagnation_turns=self.stagnation_turns,
                       max_tokens=self.max_tokens, max_cost_usd=self.max_cost_usd)


def build_config(repo: Path, cli: Mapping[str, Any], env: Mapping[str, str]) -> RunConfig:
    """Merge the layers; ``cli`` values of None mean "not given"."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in _toml_layer(repo).items():
        values[key], sources[key] = value, "remoroo.toml"
    for key, kind in TUNABLE.items():
        raw = env.get(f"REMOROO_{key.upper()}")
        if raw is not None:
            values[key], sources[key] = _from_env(key, raw, kind), "env"
    for key, value in cli.items():
        if value is not None:
            values[key], sources[key] = value, "cli"
    for key in RunConfig.model_fields:
        sources.setdefault(key, "default")
    for hidden in ("sources", "command_env", "llm_api_key"):
        sources.pop(hidden, None)
    provider = values.get("llm_provider", "openai")
    vendor_key = "ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY"
    api_key = env.get("REMOROO_LLM_API_KEY") or env.get(vendor_key)
    try:
        return RunConfig(repo=repo, sources=sources, command_env=dict(env), llm_api_key=api_key, **values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "config"
        raise UserError(
            f"Invalid setting {key} (from {sources.get(key, 'default')}): {err['msg']}. Fix that value."
        ) from exc


def saved_config(saved: Mapping[str, Any], repo: Path, env: Mapping[str, str]) -> RunConfig:
    """A run's config as ``run.json`` keeps it, for ``remoroo resume``: the repository where it is now, and the
    environment and API key of this machine (neither is ever written to the run folder)."""
    values = {k: v for k, v in saved.items() if k not in ("repo", "command_env", "llm_api_key")}
    vendor_key = "ANTHROPIC_API_KEY" if values.get("llm_provider") == "anthropic" else "OPENAI_API_KEY"
    try:
        return RunConfig(repo=repo, command_env=dict(env), llm_api_key=env.get("REMOROO_LLM_API_KEY") or
                         env.get(vendor_key), **values)
    except ValidationError as exc:
        raise UserError(f"run.json does not hold a config this remoroo can read ({exc.errors()[0]['msg']}): "
                        "start the run again with 'remoroo run'.") from exc


def _toml_layer(repo: Path) -> dict[str, Any]:
    path = repo / "remoroo.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path} is not valid TOML ({exc}): fix or remove it.") from exc
    table = data.get("run", {})
    if not isinstance(table, dict):
        raise UserError(f"{path}: [run] must be a table of settings.")
    unknown = sorted(set(table) - set(TUNABLE))
    if unknown:
        raise UserError(f"{path}: unknown setting(s) {', '.join(unknown)} in [run]; known: {', '.join(TUNABLE)}.")
    return dict(table)


def _from_env(key: str, raw: str, kind: type) -> Any:
    if kind is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise UserError(f"REMOROO_{key.upper()}={raw!r} is not a boolean: use 1/0 or true/false.")
    try:
        return kind(raw)
    except ValueError as exc:
        raise UserError(f"REMOROO_{key.upper()}={raw!r} is not a valid {kind.__name__}.") from exc
