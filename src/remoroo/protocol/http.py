"""The httpx transport to a brain service; httpx errors become :class:`~remoroo.errors.BrainError` here."""

from __future__ import annotations

import time

from remoroo.errors import BrainError
from remoroo.protocol.wire import Transport


def http_transport(url: str, timeout_s: float = 600.0, retries: int = 2) -> Transport:
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=httpx.Timeout(timeout_s, connect=5.0), trust_env=False)

    def send(payload: str) -> str:
        last: Exception | None = None
        for attempt in range(retries + 1):
            try:
                response = client.post("/v1/brain", content=payload, headers={"content-type": "application/json"})
            except httpx.TransportError as exc:  # the same request id makes a retry idempotent
                last = exc
                time.sleep(min(2.0, 0.2 * 2**attempt))
                continue
            if response.status_code >= 500 and attempt < retries:
                last = BrainError(f"brain service at {url} answered {response.status_code}: {response.text[:500]}")
                time.sleep(min(2.0, 0.2 * 2**attempt))
                continue
            if response.status_code != 200:
                raise BrainError(f"brain service at {url} answered {response.status_code}: {response.text[:2000]}")
            return response.text
        raise BrainError(f"brain service at {url} could not be reached: {last}") from last

    return send
