"""Brains: everything that proposes plans and patches, behind one protocol.

``search`` (offline, the default), ``llm`` (an OpenAI-compatible endpoint or
Anthropic), ``scripted:FILE`` (recorded answers) run in-process but still
through serialized requests; ``http://HOST:PORT`` is a brain service
(``remoroo brain serve``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from remoroo.errors import UserError
from remoroo.model.budgets import Budgets
from remoroo.protocol.client import BrainClient
from remoroo.protocol.wire import Brain, in_process


def make_brain(spec: str, llm: object | None = None) -> tuple[Brain, str]:
    """The brain for ``spec`` (not ``http://``), and its display name."""
    if spec == "search":
        from remoroo.brain.search import SearchBrain

        return SearchBrain(), "search"
    if spec.startswith("scripted:"):
        from remoroo.brain.scripted import ScriptedBrain, load_script

        path = Path(spec.split(":", 1)[1])
        return ScriptedBrain(load_script(path)), f"scripted:{path.name}"
    if spec == "llm":
        from remoroo.brain.llm import LLMBrain, LLMSettings, make_backend
        from remoroo.brain.llm.preflight import check_endpoint

        settings = llm if isinstance(llm, LLMSettings) else LLMSettings()
        if not settings.model:
            raise UserError("--brain llm needs a model: pass --llm-model NAME (and --llm-base-url for a local server).")
        check_endpoint(settings.provider, settings.base_url, settings.api_key)
        return LLMBrain(make_backend(settings), settings), f"llm:{settings.provider}:{settings.model}"
    raise UserError(f"Unknown brain {spec!r}: use search, llm, scripted:FILE or http://HOST:PORT.")


def make_client(spec: str, *, llm: object | None = None, budgets: Budgets | None = None,
                redact: Callable[[str], str] | None = None, http_timeout_s: float = 600.0) -> BrainClient:
    """The engine's client for ``--brain``."""
    if spec.startswith(("http://", "https://")):
        from remoroo.protocol.http import http_transport

        return BrainClient(http_transport(spec, timeout_s=http_timeout_s), name=spec, budgets=budgets,
                           redact=redact)
    brain, name = make_brain(spec, llm)
    return BrainClient(in_process(brain), name=name, budgets=budgets, redact=redact)


def client_from_config(config: object) -> BrainClient:
    """The client a run's frozen config asks for, with budgets and redaction."""
    from remoroo.brain.llm.brain import LLMSettings
    from remoroo.model.config import RunConfig
    from remoroo.protocol.redact import Redactor

    assert isinstance(config, RunConfig)
    llm = LLMSettings(provider=config.llm_provider, model=config.llm_model, base_url=config.llm_base_url,
                      api_key=config.llm_api_key, timeout_s=config.llm_timeout_s,
                      max_output_tokens=config.llm_max_output_tokens, context_tokens=config.llm_context_tokens,
                      price_in_per_mtok=config.llm_price_in_per_mtok, price_out_per_mtok=config.llm_price_out_per_mtok)
    home = config.command_env.get("HOME", "")
    redact = Redactor(config.command_env, {str(config.repo): "<repo>", home: "~"})
    return make_client(config.brain, llm=llm, budgets=config.budgets(), redact=redact)
