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
    """Answers the n-th model call with ``script[n]``: {"text", "delay", "status", "tokens": [in, out]}."""

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
                if self.path.endswith("/messages"):
                    payload = {"id": f"msg_{index}", "type": "message", "role": "assistant",
                               "model": body.get("model", "m"), "stop_reason": "end_turn", "stop_sequence": None,
                               "content": [{"type": "text", "text": entry["text"]}],
                               "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}
                else:
                    payload = {"id": f"chatcmpl-{index}", "object": "chat.completion", "created": 0,
                               "model": body.get("model", "m"),
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": entry["text"]}}],
                               "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                                         "total_tokens": tokens_in + tokens_out}}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(entry.get("status", 200))
                    self.send_header("content-type", "application/json")
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
