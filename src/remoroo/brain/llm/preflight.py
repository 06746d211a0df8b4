"""Before a run: is there a key where one is needed, and does the endpoint's host accept a connection?

A missing key or an endpoint nobody listens on is the user's to fix: a
:class:`UserError` (exit 2) naming the variable or the URL, before anything
is planned, instead of a "Connection error" in the middle of the run. The
check opens a TCP connection only; it sends no request and spends nothing.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from remoroo.errors import UserError

DEFAULT_URL = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com"}
KEY_VARIABLE = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


def check_endpoint(provider: str, base_url: str | None, api_key: str | None, timeout_s: float = 5.0) -> None:
    """Raise UserError when the call could not work: no key for the vendor's own service, or no listener."""
    variable = KEY_VARIABLE.get(provider, "OPENAI_API_KEY")
    if base_url is None and not api_key:
        raise UserError(f"--brain llm with provider {provider} and no --llm-base-url calls {DEFAULT_URL[provider]}, "
                        f"which needs a key: set {variable} (or REMOROO_LLM_API_KEY), or pass --llm-base-url for "
                        "a local OpenAI-compatible server (vLLM, Ollama, llama.cpp).")
    url = base_url or DEFAULT_URL.get(provider, DEFAULT_URL["openai"])
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--llm-base-url {url!r} is not an http(s) URL: give one such as http://127.0.0.1:8000/v1.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UserError(f"--llm-base-url {url!r} has an invalid port: give one such as "
                        "http://127.0.0.1:8000/v1.") from None
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise UserError(f"The model endpoint {url} cannot be reached ({exc.strerror or exc}): start the server, "
                        "or fix --llm-base-url.") from exc
