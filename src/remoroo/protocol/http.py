"""The httpx transport to a brain service; httpx errors become :class:`~remoroo.errors.BrainError` here."""

from __future__ import annotations

import time

from remoroo.errors import BrainError, BrainTimeout
from remoroo.protocol.wire import Transport


def http_transport(url: str, timeout_s: float = 600.0, retries: int = 2) -> Transport:
    """POST each request to ``URL/v1/brain``; every attempt and pause fits in the call's own ``timeout_s``."""
    import httpx

    own = timeout_s
    client = httpx.Client(base_url=url.rstrip("/"), timeout=httpx.Timeout(own, connect=5.0), trust_env=False)

    def send(payload: str, timeout_s: float | None = None) -> str:
        end = time.monotonic() + (own if timeout_s is None else min(own, timeout_s))
        last: Exception | None = None
        for attempt in range(retries + 1):
            left = end - time.monotonic()
            if left <= 0:
                raise BrainTimeout(f"brain service at {url} did not answer in time: {last or 'no answer'}")
            try:
                response = client.post("/v1/brain", content=payload, headers={"content-type": "application/json"},
                                       timeout=httpx.Timeout(left, connect=min(5.0, left)))
            except httpx.TimeoutException as exc:
                raise BrainTimeout(f"brain service at {url} did not answer within {left:.1f}s") from exc
            except httpx.TransportError as exc:  # the same request id makes a retry idempotent
                last = exc
                time.sleep(min(2.0, 0.2 * 2**attempt, max(0.0, end - time.monotonic())))
                continue
            if response.status_code >= 500 and attempt < retries:
                last = BrainError(f"brain service at {url} answered {response.status_code}: {response.text[:500]}")
                time.sleep(min(2.0, 0.2 * 2**attempt, max(0.0, end - time.monotonic())))
                continue
            if response.status_code != 200:
                raise BrainError(f"brain service at {url} answered {response.status_code}: {response.text[:2000]}")
            return response.text
        raise BrainError(f"brain service at {url} could not be reached: {last}") from last

    return send
