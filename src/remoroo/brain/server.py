"""The brain over HTTP: a FastAPI service (``remoroo brain serve``); the client half is ``protocol/http.py``.

``POST /v1/brain`` takes one serialized request and returns its response;
``GET /v1/health`` says which protocol is spoken. Answers are cached by
``request_id``, so a retried request gets the same answer: retries are
idempotent. httpx errors become :class:`~remoroo.errors.BrainError` here.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from remoroo.protocol.wire import PROTOCOL, REQUEST_ADAPTER, Brain

CACHE_SIZE = 256


def make_app(brain: Brain, log_path: Path | None = None) -> Any:
    from fastapi import Body, FastAPI, HTTPException
    from fastapi.responses import Response
    from pydantic import ValidationError

    app = FastAPI(title="remoroo brain", version=PROTOCOL)
    cache: OrderedDict[str, str] = OrderedDict()
    lock = threading.Lock()

    @app.get("/v1/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "protocol": PROTOCOL}

    @app.post("/v1/brain")
    def answer(payload: dict[str, Any] = Body(...)) -> Response:  # noqa: B008 - FastAPI's idiom
        try:
            request = REQUEST_ADAPTER.validate_python(payload)
        except ValidationError as exc:
            raise HTTPException(status_code=422, detail=json.loads(exc.json())) from exc
        if log_path is not None:
            with lock, open(log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(payload) + "\n")
        with lock:
            cached = cache.get(request.request_id)
        if cached is None:
            try:
                cached = brain.respond(request).model_dump_json()
            except Exception as exc:  # noqa: BLE001 - reported to the engine as a brain failure
                raise HTTPException(status_code=500, detail=f"{type(exc).__name__}: {exc}") from exc
            with lock:
                cache[request.request_id] = cached
                while len(cache) > CACHE_SIZE:
                    cache.popitem(last=False)
        return Response(content=cached, media_type="application/json")

    return app


def serve(brain: Brain, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None) -> None:
    """Serve until interrupted; prints the address it listens on first."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    bound = sock.getsockname()
    print(f"remoroo brain listening on http://{bound[0]}:{bound[1]}", flush=True)
    config = uvicorn.Config(make_app(brain, log_path), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def main_serve(brain: Brain, host: str, port: int, log_path: Path | None) -> None:
    try:
        serve(brain, host, port, log_path)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
