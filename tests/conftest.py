"""Shared fixtures: real model, real Chroma (embedded and server), real files."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from assistant.core import Assistant
from assistant.faces.http.workers import free_port
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
#: Documents the tests read, all written for this repository (see tests/data/README.md).
DATA = ROOT / "tests" / "data"
#: A news article shaped like the ones users brief themselves on: named speakers with roles and
#: affiliations, quoted and reported speech, money figures, dates, a run-on sentence
#: ("Arianespace.Remarkably") and web boilerplate at the end.
ARTICLE = DATA / "kestrel-launch.txt"
#: A short memo with figures and dates.
MEMO = DATA / "depot-memo.txt"
#: The sample documents shipped with the product (our own writing too).
SAMPLES = ROOT / "assistant" / "samples"
VENV_BIN = Path(sys.executable).parent
T = TypeVar("T")


def wait_for(
    proc: subprocess.Popen,
    ready: Callable[[], T],
    log: Path | None = None,
    timeout: float = 120,
    what: str = "the server",
) -> T:
    """Poll ``ready()`` until it returns something true, and return that.

    The test fails, with the text of ``log``, if ``proc`` exits first or ``timeout`` seconds
    pass. ``ready`` raising ``OSError``, ``httpx.HTTPError`` or ``ValueError`` (nothing
    listens yet, or the answer is not JSON yet) counts as not ready.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited (status {proc.returncode}):\n{_text(log)}")
        try:
            answer = ready()
        except (OSError, httpx.HTTPError, ValueError):
            answer = None
        if answer:
            return answer
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer within {timeout:g} s:\n{_text(log)}")
        time.sleep(0.3)


def _text(log: Path | None) -> str:
    return log.read_text(errors="replace") if log is not None and log.exists() else ""


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` (``OSError`` if not)."""
    with socket.create_connection(("127.0.0.1", port), 0.5):
        return True


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """End a server started by a test: politely, then for sure."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def article_file() -> Path:
    """The test news article (read-only: copy it before changing it)."""
    return ARTICLE


@pytest.fixture
def memo_file() -> Path:
    """The test memo (read-only: copy it before changing it)."""
    return MEMO


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def assistant(data_dir: Path) -> Assistant:
    """An Assistant over an empty embedded store in a temporary folder."""
    return Assistant(Settings(data_dir=data_dir))


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Chroma server (``chroma run``) on 127.0.0.1, for the server-mode tests."""
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    chroma = shutil.which("chroma", path=str(VENV_BIN)) or shutil.which("chroma")
    assert chroma, "the chroma command (shipped with chromadb) is missing"
    log = open(path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        wait_for(
            proc,
            lambda: listening(port),
            path / "server.log",
            timeout=60,
            what="the Chroma server",
        )
        yield "127.0.0.1", port
    finally:
        stop(proc)
        log.close()


@pytest.fixture(params=["embedded", "server"])
def any_store(request: pytest.FixtureRequest, data_dir: Path) -> Assistant:
    """An Assistant over the embedded store, then over a real Chroma server."""
    if request.param == "embedded":
        return Assistant(Settings(data_dir=data_dir))
    host, port = request.getfixturevalue("chroma_server")
    # The server outlives each test: a collection of its own keeps tests apart.
    collection = "t" + uuid.uuid4().hex[:12]
    return Assistant(
        Settings(data_dir=data_dir, chroma_host=host, chroma_port=port, collection=collection)
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static web server on 127.0.0.1 serving a temporary folder: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()

    def handler(*args: object, **kwargs: object) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def run_brief(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``brief`` command in a child process."""
    brief = shutil.which("brief", path=str(VENV_BIN))
    assert brief, "the brief console script is not installed"
    return subprocess.run(
        [brief, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "BRIEF_DATA_DIR": str(data_dir), **(env or {})},
    )


def openai_stream(api: httpx.Client, question: str) -> tuple[str, list[dict[str, Any]]]:
    """Ask ``/v1/chat/completions`` with ``stream``: the streamed text and every chunk."""
    body = {"model": "default", "messages": [{"role": "user", "content": question}], "stream": True}
    r = api.post("/v1/chat/completions", json=body)
    chunks = [
        json.loads(line[len("data: ") :])
        for line in r.text.splitlines()
        if line.startswith("data: {")
    ]
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks), chunks


@contextlib.contextmanager
def served(assistant: Assistant, app: Any = None) -> Iterator[httpx.Client]:
    """A client for ``app`` (default: the API app of ``assistant``), served by uvicorn on a
    free loopback port."""
    import uvicorn

    from assistant.faces.http.server import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app or create_app(assistant), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline, "the API server did not start"
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
