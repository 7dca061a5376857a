"""SIGKILL of a running server in the middle of uploads, and in the middle of a burst of
questions: after a restart every document the server reported ingested is there once, whole
and answerable, and the store is as consistent as after a clean run.

Also: two processes writing to one embedded store are kept apart by a lock with a clear
message, never interleaved.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from ingest.locking import WriteLock
from tests.conftest import VENV_BIN, free_port, run_brief, stop, wait_for
from tests.data.abstracts import abstracts
from tests.e2e.test_crash import _check_consistent

#: Invented places, one fact each: no other document mentions them.
PLACES = [
    "Harrowgate",
    "Lindqvist",
    "Ostravel",
    "Pemberbrook",
    "Quillon",
    "Rastaban",
    "Sorrelfield",
    "Tamberline",
    "Umbervale",
    "Vexmoor",
    "Wrenholt",
    "Yarrowick",
]


#: Abstracts after each place's fact: about eight chunks a document, so that a kill can land
#: between them.
FILLERS = 12


def _write_documents(folder: Path) -> dict[str, Path]:
    """One document per place: its fact first, then research abstracts so that it has several
    chunks to write (a kill can land between them)."""
    folder.mkdir()
    fillers = [a.text for a in abstracts(FILLERS * len(PLACES))]
    files = {}
    for k, place in enumerate(PLACES):
        fact = f"The {place} observatory recorded {101 + k} meteors in a single night."
        body = "\n\n".join(fillers[FILLERS * k : FILLERS * (k + 1)])
        path = folder / f"{place.lower()}.txt"
        path.write_text(f"{place} observatory report\n\n{fact}\n\n{body}\n")
        files[place] = path
    return files


@contextmanager
def server(data: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "brief"), "serve", "--port", str(port), "--no-samples"],
        env={**os.environ, "BRIEF_DATA_DIR": str(data), "BRIEF_RATE_LIMIT_PER_MINUTE": "0"},
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            proc,
            lambda: httpx.get(f"{url}/api/v1/health", timeout=2).json().get("ready"),
            log,
            timeout=120,
            what="brief serve",
        )
        yield url, proc
    finally:
        if proc.poll() is None:
            stop(proc)


def _upload(url: str, path: Path) -> str | None:
    """The status the server reported for one file, or None if the call died with it."""
    try:
        r = httpx.post(
            f"{url}/api/v1/documents",
            files={"files": (path.name, path.read_bytes(), "text/plain")},
            timeout=120,
        )
        return r.json()["results"][0]["status"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None


def _check_answerable(url: str, places: list[str]) -> None:
    for place in places:
        k = PLACES.index(place)
        answer = httpx.post(
            f"{url}/api/v1/ask",
            json={"question": f"How many meteors did the {place} observatory record?"},
            timeout=60,
        ).json()
        assert f"{101 + k} meteors" in answer["text"], (place, answer["text"])
        assert answer["citations"][0]["title"] == f"{place} observatory report"


def _documents(url: str) -> list[dict]:
    return httpx.get(f"{url}/api/v1/documents", timeout=30).json()["documents"]


def test_sigkill_during_uploads_loses_nothing_reported(tmp_path: Path) -> None:
    files = _write_documents(tmp_path / "docs")
    data, log = tmp_path / "data", tmp_path / "server.log"
    reported: dict[str, str | None] = {}
    with server(data, log) as (url, proc):
        done = threading.Semaphore(0)

        def upload(place: str) -> None:
            reported[place] = _upload(url, files[place])
            done.release()

        with ThreadPoolExecutor(len(PLACES)) as pool:
            for place in PLACES:
                pool.submit(upload, place)
            for _ in range(3):  # three answers back, the rest in flight: kill
                assert done.acquire(timeout=120)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    ingested = [p for p, status in reported.items() if status == "ingested"]
    assert 3 <= len(ingested) < len(PLACES), reported

    with server(data, log) as (url, _):
        docs = _documents(url)
        sources = [d["source"] for d in docs]
        assert len(sources) == len(set(sources)), "a document is listed twice"
        titles = {d["title"] for d in docs}
        assert {f"{p} observatory report" for p in ingested} <= titles
        _check_answerable(url, ingested)
    _check_consistent(data)  # every document whole, no stray chunks, no journal left

    with server(data, log) as (url, _):  # sending everything again completes the set
        statuses = [_upload(url, files[p]) for p in PLACES]
        assert set(statuses) <= {"ingested", "unchanged"}, statuses
        assert len(_documents(url)) == len(PLACES)
        _check_answerable(url, PLACES[::4])
    _check_consistent(data)


def test_sigkill_during_a_burst_of_questions_changes_nothing(tmp_path: Path) -> None:
    files = _write_documents(tmp_path / "docs")
    data, log = tmp_path / "data", tmp_path / "server.log"
    assert run_brief("ingest", str(tmp_path / "docs"), data_dir=data).returncode == 0
    with server(data, log) as (url, proc):
        before = sorted((d["doc_id"], d["chunks"]) for d in _documents(url))
        assert len(before) == len(files)

        def ask(k: int) -> None:
            place = PLACES[k % len(PLACES)]
            question = f"How many meteors did the {place} observatory record? ({k})"
            with suppress(httpx.HTTPError):  # the server dies under it: expected
                httpx.post(f"{url}/api/v1/ask", json={"question": question}, timeout=60)

        with ThreadPoolExecutor(32) as pool:
            for k in range(200):
                pool.submit(ask, k)
            time.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    with server(data, log) as (url, _):
        assert sorted((d["doc_id"], d["chunks"]) for d in _documents(url)) == before
        _check_answerable(url, PLACES[::3])
    _check_consistent(data)


def test_a_second_writer_waits_then_gets_a_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    note = tmp_path / "note.txt"
    note.write_text("A short note about the Harrowgate observatory and its telescope.")
    # Another process is writing (this test holds the lock as an ingest would).
    with WriteLock(data / "write.lock"):
        started = time.monotonic()
        second = run_brief("ingest", str(note), data_dir=data)
        waited = time.monotonic() - started
    assert second.returncode == 2
    assert f"another process (pid {os.getpid()}) is writing to {data}" in second.stderr
    assert waited >= 10  # it waited for the first writer before giving up
    again = run_brief("ingest", str(note), data_dir=data)  # once it is done, it goes ahead
    assert again.returncode == 0, again.stderr
    _check_consistent(data)
