"""A local OpenAI- and Anthropic-compatible server that replays recorded answers (127.0.0.1, TCP_NODELAY)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)


class ReplayServer:
    """Answers the n-th model call with ``script[n]``.

    An entry is {"text", "delay", "status", "tokens": [in, out], "headers": {...}, "cut_off": bool,
    "error": message}: a status of 400 or more sends a vendor-shaped error body with ``error``;
    ``cut_off`` ends the answer at the output cap (finish_reason "length", stop_reason "max_tokens").
    """

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with owner.lock:
                    index = len(owner.requests)
                    owner.requests.append(body)
                entry = owner.script[index] if index < len(owner.script) else {"text": "{}", "status": 500}
                time.sleep(entry.get("delay", 0))
                tokens_in, tokens_out = entry.get("tokens", [60, 40])
                status = entry.get("status", 200)
                cut = entry.get("cut_off", False)
                if status >= 400:
                    payload: dict[str, Any] = {"type": "error", "error": {
                        "type": "api_error", "code": None, "message": entry.get("error", f"status {status}")}}
                elif self.path.endswith("/messages"):
                    payload = {"id": f"msg_{index}", "type": "message", "role": "assistant",
                               "model": body.get("model", "m"), "stop_sequence": None,
                               "stop_reason": "max_tokens" if cut else "end_turn",
                               "content": [{"type": "text", "text": entry["text"]}],
                               "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}
                else:
                    payload = {"id": f"chatcmpl-{index}", "object": "chat.completion", "created": 0,
                               "model": body.get("model", "m"),
                               "choices": [{"index": 0, "finish_reason": "length" if cut else "stop",
                                            "message": {"role": "assistant", "content": entry["text"]}}],
                               "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                                         "total_tokens": tokens_in + tokens_out}}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    for name, value in entry.get("headers", {}).items():
                        self.send_header(name, str(value))
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def message_texts(self, index: int) -> str:
        """Everything the engine sent in the index-th model call, as one string."""
        return json.dumps(self.requests[index])
