"""Serving: the web chat and the HTTP API under uvicorn, for ``python app.py`` and ``brief serve``.

The bind policy (without API keys, loopback only unless ``BRIEF_ALLOW_OPEN``), the serve lock
on the data folder, glibc's malloc arenas set before the server's threads start, the worker
processes that answer the API (``--workers``), and the warm-up when no page opens.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from assistant.core import Assistant
    from assistant.settings import Settings

#: Seconds after the server listens before it warms up with no page open (a page starts it).
WARM_UP_DELAY_S = 10.0


def _after_listening(host: str, port: int, then: Callable[[], object], delay: float = 0.0) -> None:
    """Call ``then()`` ``delay`` seconds after something accepts connections on ``host:port``."""
    timeout = 120.0
    import socket

    target = "127.0.0.1" if host in ("0.0.0.0", "") else host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((target, port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    time.sleep(delay)
    then()


def serve(
    assistant: Assistant | None = None,
    host: str | None = None,
    port: int | None = None,
    samples: bool = True,
    workers: int = 1,
) -> None:
    """Serve the app until interrupted; with ``workers`` > 1, questions from the API are
    answered by that many worker processes (``assistant/faces/http/workers.py``)."""
    import uvicorn

    from assistant import Assistant
    from assistant.faces.http.arenas import limit_malloc_arenas
    from assistant.faces.web.page import make_app
    from ingest.locking import ServeLock

    started = time.perf_counter()
    assistant = assistant or Assistant()
    settings = assistant.settings
    limit_malloc_arenas(settings.malloc_arena_max)  # before the server's threads start
    host = _bind_address(settings, host or settings.host)
    port = port or settings.port
    lock = None if settings.uses_chroma_server else ServeLock(settings.data_dir).acquire()
    pool = None
    try:
        if workers > 1:
            from assistant.faces.http.workers import Pool, worker_env

            logs = settings.data_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            pool = Pool(logs)
            chroma_port = None
            if not settings.uses_chroma_server:
                # One process owns the embedded store's files: a Chroma server all share.
                chroma_port = pool.start_chroma(settings.chroma_dir)
                settings = settings.model_copy(
                    update={"chroma_host": "127.0.0.1", "chroma_port": chroma_port}
                )
                assistant = Assistant(settings)
            pool.start_workers(workers, worker_env(settings, chroma_port, workers))
        app, chat = make_app(assistant, samples=samples)
        if pool is not None:
            from starlette.middleware import Middleware

            from assistant.faces.http.workers import Forwarder

            # Innermost: the route policy (assistant/faces/http/policy.py) runs first.
            app.user_middleware.append(
                Middleware(Forwarder, ports=pool.ports, guard=app.state.guard)
            )
        # The first page opened starts the warm-up; if none opens soon after the server
        # listens, it starts anyway, so that the samples are in and the model loaded when
        # one does.
        threading.Thread(
            target=_after_listening,
            args=(host, port, chat.start_warm_up, WARM_UP_DELAY_S),
            daemon=True,
        ).start()
        took = time.perf_counter() - started
        extra = f", {workers} workers answering the API" if pool is not None else ""
        print(
            f"Briefing Assistant on http://{host}:{port} (built in {took:.1f} s{extra})",
            flush=True,
        )
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if pool is not None:
            pool.stop()
        if lock is not None:
            lock.release()


def _bind_address(settings: Settings, host: str) -> str:
    """Without API keys, loopback only unless BRIEF_ALLOW_OPEN; says which, at start."""
    if settings.api_keys:
        return host
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.allow_open:
        print(
            f"No API keys are set (BRIEF_API_KEYS): serving on 127.0.0.1 only, not {host}. "
            "Set keys, or BRIEF_ALLOW_OPEN=true to serve openly anyway.",
            flush=True,
        )
        return "127.0.0.1"
    if host in ("127.0.0.1", "localhost", "::1"):
        print("No API keys are set (BRIEF_API_KEYS): serving on this machine only.", flush=True)
    else:
        # The route policy still answers loopback names only, and those the operator lists
        # (assistant/faces/http/policy.py): a page elsewhere that rebinds its name gets nothing.
        names = ", ".join(settings.allowed_hosts) or "none yet: set BRIEF_ALLOWED_HOSTS"
        print(
            f"No API keys are set and BRIEF_ALLOW_OPEN is on: anyone who reaches {host} "
            f"may use everything, by the names localhost, 127.0.0.1, [::1] and {names}.",
            flush=True,
        )
    return host


# --- ``brief mcp`` --------------------------------------------------------------------------


def serve_mcp(
    assistant: Assistant, http: bool = False, host: str | None = None, port: int | None = None
) -> None:
    """Run ``brief mcp`` until the client goes away (stdio) or it is interrupted (HTTP).

    Like ``brief serve``, it holds the data dir's ``ServeLock`` while it runs (its index is
    kept in memory), and warms the model in the background so the first answer is quick.
    """
    from ingest.locking import ServeLock

    settings = assistant.settings
    lock = None if settings.uses_chroma_server else ServeLock(settings.data_dir).acquire()
    try:
        threading.Thread(target=_warm_up, args=(assistant,), daemon=True).start()
        if http:
            _serve_http(assistant, host, port)
        else:
            from assistant.faces.mcp_server import build_server

            build_server(assistant).run("stdio")
    finally:
        if lock is not None:
            lock.release()


def _serve_http(assistant: Assistant, host: str | None, port: int | None) -> None:
    """The API server (``assistant/faces/http/server.py``: /api/v1, the viewer that citations'
    ``view`` opens) with the MCP server at ``/mcp``, without the chat."""
    import sys

    import uvicorn

    from assistant.faces.http.mcp import MCP_PATH, mount
    from assistant.faces.http.server import create_app

    settings = assistant.settings
    host = _bind_address(settings, host or settings.host)
    port = port or settings.port
    app = create_app(assistant)
    if not settings.mcp:  # else create_app has mounted it already
        mount(app, assistant, app.state.guard)
    print(f"MCP server on http://{host}:{port}{MCP_PATH}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _warm_up(assistant: Assistant) -> None:
    try:
        assistant.recover()
        assistant.index.embedder.embed_one("warm up")
    except Exception:  # the first call reports whatever is wrong
        logging.getLogger(__name__).exception("warm-up failed")
