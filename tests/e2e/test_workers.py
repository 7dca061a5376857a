"""``brief serve --workers 2`` over the embedded store: the front keeps the chat and the writes,
two worker processes answer the API's questions through a Chroma server the front started.

One real server for the module (front, Chroma server, two workers, each with the real model),
with API keys on, over a store holding the test news article.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ARTICLE, VENV_BIN, free_port, run_brief, stop, wait_for

ADMIN = "admin-key-0123456789abcdef"
ASK = "ask-only-key-0123456789abcdef"
QUESTION = {"question": "Who founded Kestrel?"}
SITE = "http://help.example.org"


def _children(pid: int) -> dict[int, str]:
    # -ww: whole command lines. Without a terminal ps cuts them at 80 columns, and in a clone at
    # a longer path "chroma run" fell past the cut.
    out = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return {int(line.split()[0]): line.split(None, 1)[1] for line in out.splitlines()}


@contextlib.contextmanager
def serving(root: Path, data: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``brief serve --workers 2`` over ``data``; yields its URL and process. On the way out,
    checks that the workers (and the Chroma server it started) end with it."""
    port = free_port()
    log = open(root / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(VENV_BIN / "brief"), "serve", "--workers", "2", "--port", str(port), "--no-samples"],
        cwd=root,
        env={
            **os.environ,
            "BRIEF_DATA_DIR": str(data),
            "BRIEF_API_KEYS": f"{ADMIN}:admin,{ASK}:ask",
            "NO_PROXY": "127.0.0.1,localhost",
            "BRIEF_WIDGET_ORIGINS": SITE,
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            proc,
            lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200,
            root / "serve.log",
            timeout=180,
            what="brief serve --workers 2",
        )
        yield url, proc
    finally:
        children = _children(proc.pid)
        stop(proc, timeout=60)
        log.close()
        for pid in children:
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"child {pid} ({children[pid]}) outlived the front")


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, subprocess.Popen]]:
    root = tmp_path_factory.mktemp("workers")
    data = root / "data"
    assert run_brief("ingest", str(ARTICLE), data_dir=data).returncode == 0
    with serving(root, data) as (url, proc):
        yield url, data, proc


def _ask(url: str, body: dict, key: str = ASK) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/ask", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=120
    )


def test_questions_are_answered_by_both_workers(front: tuple) -> None:
    url, _, proc = front
    children = list(_children(proc.pid).values())
    assert sum("assistant.faces.http.workers" in args for args in children) == 2, children
    assert sum("chroma run" in args for args in children) == 1, children
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: _ask(url, QUESTION), range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    for r in responses:
        answer = r.json()
        assert "Priya Raman" in answer["text"] and answer["citations"], answer
    assert {r.headers["x-brief-worker"] for r in responses} == {"0", "1"}


def test_a_document_added_through_the_front_is_answered_by_the_workers(front: tuple) -> None:
    url, _, _ = front
    text = (
        "The Zorblat committee met in Vilnius on 3 March 2025.\n\n"
        "Its chair, Ona Petraitis, announced a budget of 41 million euros for the canal.\n"
    )
    added = httpx.post(
        f"{url}/api/v1/documents",
        files={"files": ("zorblat.txt", text.encode(), "text/plain")},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=120,
    )
    assert added.status_code == 200, added.text
    assert added.json()["results"][0]["status"] == "ingested"
    question = {"question": "How big is the budget for the canal?"}
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: _ask(url, question), range(4)))
    assert {r.headers["x-brief-worker"] for r in responses} == {"0", "1"}
    for r in responses:
        answer = r.json()
        assert "41 million euros" in answer["text"], answer
        assert answer["citations"][0]["title"].startswith("The Zorblat committee")

    # The stream and the OpenAI-compatible route go through the workers too.
    with httpx.stream(
        "POST",
        f"{url}/api/v1/ask/stream",
        json=question,
        headers={"Authorization": f"Bearer {ASK}"},
        timeout=120,
    ) as r:
        assert r.status_code == 200 and "x-brief-worker" in r.headers
        body = r.read().decode()
    done = [e for e in body.split("\n\n") if e.startswith("event: done")]
    assert done and "41 million euros" in json.loads(done[0].split("data: ", 1)[1])["text"]
    chat = httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": "default", "messages": [{"role": "user", "content": question["question"]}]},
        headers={"Authorization": f"Bearer {ASK}"},
        timeout=120,
    )
    assert chat.status_code == 200 and "x-brief-worker" in chat.headers
    assert "41 million euros" in chat.json()["choices"][0]["message"]["content"]


def test_keys_and_sites_hold_on_forwarded_routes(front: tuple) -> None:
    url, _, _ = front
    auth = {"Authorization": f"Bearer {ASK}"}
    listed = httpx.post(
        f"{url}/api/v1/ask", json=QUESTION, headers={**auth, "Origin": SITE}, timeout=120
    )
    assert listed.status_code == 200 and "x-brief-worker" in listed.headers
    assert listed.headers.get_list("access-control-allow-origin") == [SITE]
    other = httpx.post(
        f"{url}/api/v1/ask",
        json=QUESTION,
        headers={**auth, "Origin": "http://elsewhere.example"},
        timeout=30,
    )
    assert other.status_code == 403 and other.json()["error"]["code"] == "origin_not_allowed"
    assert "x-brief-worker" not in other.headers  # refused in the front, not forwarded
    assert httpx.post(f"{url}/api/v1/ask", json=QUESTION, timeout=30).status_code == 401
    assert _ask(url, QUESTION, key="wrong-key-0123456789").status_code == 401
    refused = httpx.post(
        f"{url}/api/v1/documents",
        files={"files": ("x.txt", b"some text", "text/plain")},
        headers={"Authorization": f"Bearer {ASK}"},
        timeout=30,
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_no_other_process_writes_to_or_serves_the_store(front: tuple, tmp_path: Path) -> None:
    url, data, _ = front
    extra = tmp_path / "extra.txt"
    extra.write_text("A note that must not be written behind the server's back.")
    ingest = run_brief("ingest", str(extra), data_dir=data)
    assert ingest.returncode == 2
    assert "is served by a running server" in ingest.stderr
    assert "POST /api/v1/documents" in ingest.stderr
    second = run_brief("serve", "--port", str(free_port()), data_dir=data, timeout=120)
    assert second.returncode == 2 and "in use by another process" in second.stderr
    titles = [
        d["title"]
        for d in httpx.get(
            f"{url}/api/v1/documents", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
        ).json()["documents"]
    ]
    assert not any("must not be written" in t for t in titles)


def test_a_worker_that_dies_costs_capacity_not_answers(front: tuple) -> None:
    url, _, proc = front
    workers = [
        pid for pid, args in _children(proc.pid).items() if "assistant.faces.http.workers" in args
    ]
    os.kill(workers[0], signal.SIGKILL)
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: _ask(url, QUESTION), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert all("Priya Raman" in r.json()["text"] for r in responses)


def test_workers_share_a_chroma_server(tmp_path: Path, chroma_server: tuple[str, int]) -> None:
    host, port = chroma_server
    env = {"BRIEF_CHROMA_HOST": host, "BRIEF_CHROMA_PORT": str(port), "BRIEF_COLLECTION": "workers"}
    data = tmp_path / "data"
    assert run_brief("ingest", str(ARTICLE), data_dir=data, env=env).returncode == 0
    with serving(tmp_path, data, **env) as (url, proc):
        children = list(_children(proc.pid).values())
        assert sum("assistant.faces.http.workers" in args for args in children) == 2, children
        assert not any("chroma run" in args for args in children), children  # theirs is used
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda _: _ask(url, QUESTION), range(4)))
        assert {r.headers["x-brief-worker"] for r in responses} == {"0", "1"}
        assert all("Priya Raman" in r.json()["text"] for r in responses)
