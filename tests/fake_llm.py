"""A small OpenAI-compatible chat server on 127.0.0.1 that replies from a script.

It stands in for a hosted model at the network edge: our code talks to it through LangChain's
OpenAI client exactly as it would talk to vLLM, llama.cpp's server or OpenAI. Each rule maps a
phrase of the last user message to a reply, in which ``{cite:words}`` becomes the marker of the
numbered passage holding those words; every request body is kept for inspection.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeChatServer:
    """``with FakeChatServer(rules) as server: server.url``; ``server.requests`` records bodies."""

    def __init__(
        self,
        rules: list[tuple[str, str]],
        default: str = "The documents don't say.",
        delay: float = 0.0,
    ):
        """``delay``: seconds between streamed pieces, so that a page can be seen streaming."""
        self.rules = rules
        self.delay = delay
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply_for(self, body: dict[str, Any]) -> str:
        last = next(
            (m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"),
            "",
        )
        text = last if isinstance(last, str) else json.dumps(last)
        reply = next((reply for phrase, reply in self.rules if phrase in text), self.default)
        return re.sub(r"\{cite:([^}]*)\}", lambda m: self._marker(text, m.group(1)), reply)

    @staticmethod
    def _marker(prompt: str, phrase: str) -> str:
        """``[n]`` for the numbered passage of the prompt that contains ``phrase``."""
        for match in re.finditer(r"^\[(\d+)\] .*?(?=^\[\d+\] |\Z)", prompt, re.M | re.S):
            if phrase in match.group(0):
                return f"[{match.group(1)}]"
        return "[1]"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                reply = server.reply_for(body)
                if body.get("stream"):
                    self._stream(reply, body.get("model", "fake"))
                else:
                    self._whole(reply, body.get("model", "fake"))

            def _whole(self, reply: str, model: str) -> None:
                data = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, reply: str, model: str) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                pieces = [reply[i : i + 4] for i in range(0, len(reply), 4)]  # token-sized
                for i, piece in enumerate([*pieces, None]):
                    delta = {"content": piece} if piece is not None else {}
                    if i == 0:
                        delta["role"] = "assistant"
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "delta": delta,
                                "finish_reason": None if piece is not None else "stop",
                            }
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    if server.delay:
                        time.sleep(server.delay)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler

    def __enter__(self) -> FakeChatServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
