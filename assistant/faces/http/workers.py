"""Several processes answering questions: ``brief serve --workers N``.

Gradio keeps each browser session in the memory of the process that opened it (its queue is
not shared between processes), so the chat cannot be spread over uvicorn workers. Instead the
process that serves the chat, "the front", starts N worker processes on loopback ports, each
running the API without the chat (``python -m assistant.faces.http.workers``), and forwards
the question routes to them, least busy first: ``POST /api/v1/ask``, ``/api/v1/ask/stream`` and
``/v1/chat/completions``. Everything else stays in the front: the chat, uploads and removals,
listings, the viewer, the docs. The front is the one process that writes.

The embedded store cannot be shared by processes: each keeps its own copy of the vector index
in memory and does not see the others' writes. So with the embedded store the front first
starts a Chroma server (``chroma run``) over the data dir's ``chroma`` folder on a loopback
port, and the front and the workers reach it there; with ``BRIEF_CHROMA_HOST`` set they all use
that server. The document registry (SQLite) is shared directly. Keys are checked and the rate
limit counted in the front, where the callers' addresses are known; the workers check keys
again, since anyone on this machine could reach their ports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from assistant.faces.access import Guard
    from assistant.settings import Settings

#: Routes the workers answer; only POST.
FORWARDED = frozenset({"/api/v1/ask", "/api/v1/ask/stream", "/v1/chat/completions"})
#: Largest request body forwarded (a question and its conversation are far smaller).
MAX_FORWARDED_BYTES = 8 * 1024 * 1024
#: Request headers that belong to one hop and are not passed on. The origin was checked in
#: the front, which also adds the CORS headers to the response.
HOP_HEADERS = frozenset(
    {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"te", b"origin"}
)
#: Response headers the front's server sets itself.
OWN_HEADERS = frozenset({b"content-length", b"date", b"server"})
START_TIMEOUT_S = 120


def free_port() -> int:
    """A TCP port nobody listens on right now on 127.0.0.1 (tests and bench/ use it too)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before it runs: end when the front ends, even if it was killed."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{what} exited at start (status {proc.returncode}):\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S} s")


@dataclass
class Pool:
    """The processes started for ``--workers``: a Chroma server (embedded store) and workers."""

    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    def start_chroma(self, chroma_dir: Path) -> int:
        """``chroma run`` over the embedded store's folder, on a free loopback port."""
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which(
            "chroma"
        )
        if not chroma:
            raise RuntimeError("the chroma command (shipped with chromadb) is missing")
        port = free_port()
        chroma_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / "chroma.log"
        proc = subprocess.Popen(
            [chroma, "run", "--path", str(chroma_dir), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            preexec_fn=_die_with_parent,
        )
        self.processes.append(proc)
        _wait_for_port(port, proc, "the Chroma server", log)
        return port

    def start_workers(self, n: int, env: dict[str, str]) -> list[int]:
        """``n`` API processes on free loopback ports; returns when all of them listen."""
        started = []
        for k in range(n):
            port = free_port()
            log = self.log_dir / f"worker-{k}.log"
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "assistant.faces.http.workers",
                    "--port",
                    str(port),
                    "--of",
                    str(n),
                ],
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                preexec_fn=_die_with_parent,
            )
            self.processes.append(proc)
            started.append((port, proc, log))
        for port, proc, log in started:
            _wait_for_port(port, proc, f"worker on port {port}", log)
            self.ports.append(port)
        return self.ports

    def stop(self) -> None:
        """Workers first, the Chroma server last (it holds the store)."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Forwarder:
    """ASGI middleware of the front: question routes go to the least busy worker.

    The caller's key and rate are checked here first (``guard``). A worker that cannot be
    reached is skipped; with none reachable the front answers itself, so a worker that died
    costs capacity, never answers. The response names its worker (``X-Brief-Worker: k``).
    """

    def __init__(self, app: ASGIApp, ports: list[int], guard: Guard) -> None:
        import httpx

        self.app = app
        self.guard = guard
        self.ports = list(ports)
        self.turn = 0
        self.busy = dict.fromkeys(ports, 0)
        self.number = {port: k for k, port in enumerate(ports)}
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(300.0, connect=5.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            trust_env=False,  # loopback only: never through a proxy
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].rstrip("/") not in FORWARDED
        ):
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        from assistant.faces.errors import ApiError, error_body

        request = Request(scope, receive)
        try:
            self.guard.needs("ask")(request)
        except ApiError as exc:
            await _send_json(send, exc.status, error_body(exc.code, exc.message), exc.headers)
            return
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORWARDED_BYTES:
                message = f"the request is larger than {MAX_FORWARDED_BYTES // 2**20} MiB"
                await _send_json(send, 413, error_body("too_large", message))
                return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_HEADERS]
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", client[0].encode()))
        # Least busy first; among equals, in turn.
        self.turn = (self.turn + 1) % len(self.ports)
        in_turn = self.ports[self.turn :] + self.ports[: self.turn]
        for port in sorted(in_turn, key=self.busy.__getitem__):
            self.busy[port] += 1
            try:
                if await self._forward(port, scope, headers, body, send):
                    return
            finally:
                self.busy[port] -= 1

        # No worker answered: answer here, from the body already read.
        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _forward(
        self, port: int, scope: dict[str, Any], headers: list[Any], body: bytes, send: Any
    ) -> bool:
        """Pass the request to one worker and its response back; False if it can't be reached."""
        import httpx

        query = scope.get("query_string", b"").decode("latin-1")
        url = f"http://127.0.0.1:{port}{scope['path']}" + (f"?{query}" if query else "")
        request = self.http.build_request("POST", url, headers=headers, content=body)
        try:
            response = await self.http.send(request, stream=True)
        except (httpx.TransportError, OSError, AttributeError):
            # Refused, or a kept-alive connection to a worker that has died: nothing has
            # reached the caller yet, and a question may be asked again, so try the next.
            # (A socket closed by the dying worker mid-connect can surface inside the HTTP
            # library as an AttributeError on its None transport, not as a TransportError.)
            return False
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k, v)
                        for k, v in response.headers.raw
                        if k.lower() not in HOP_HEADERS and k.lower() not in OWN_HEADERS
                    ]
                    + [(b"x-brief-worker", str(self.number[port]).encode())],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (OSError, httpx.HTTPError, asyncio.CancelledError):
            # The caller went away (a stopped stream) or the worker did mid-answer: closing
            # the upstream response stops the worker's work on it.
            pass
        finally:
            await response.aclose()
        return True


async def _send_json(send: Any, status: int, body: dict[str, Any], headers: Any = None) -> None:
    import json

    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


def worker_env(settings: Settings, chroma_port: int | None, n: int) -> dict[str, str]:
    """What a worker needs beyond the front's environment."""
    env = {
        "BRIEF_DATA_DIR": str(settings.data_dir),
        "BRIEF_RATE_LIMIT_PER_MINUTE": "0",  # counted in the front
        "BRIEF_EMBED_WORKERS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if chroma_port is not None:
        env |= {"BRIEF_CHROMA_HOST": "127.0.0.1", "BRIEF_CHROMA_PORT": str(chroma_port)}
    return env


def run_worker(port: int, of: int) -> None:
    """One worker: the API without the chat, on 127.0.0.1 only; warmed up before it listens."""
    import uvicorn

    from assistant.answering import qa_reader
    from assistant.core import Assistant
    from assistant.faces.http.arenas import limit_malloc_arenas
    from assistant.faces.http.server import create_app

    assistant = Assistant()
    limit_malloc_arenas(assistant.settings.malloc_arena_max)  # before its threads start
    assistant.index.embedder.embed_query("warm up")
    import torch

    # The workers share the cores: each keeps to its share, the reader's passes too (two
    # workers each reading on two cores of a 2-core machine answered 30% fewer questions).
    share = max(1, (os.cpu_count() or 1) // of)
    torch.set_num_threads(share)
    qa_reader.READ_THREADS = min(qa_reader.READ_THREADS, share)
    app = create_app(assistant, ready=lambda: True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One question-answering worker of brief serve.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--of", type=int, default=1, help="how many workers share the machine")
    args = parser.parse_args(argv)
    run_worker(args.port, args.of)


if __name__ == "__main__":
    main()
