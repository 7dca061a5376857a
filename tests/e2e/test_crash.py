"""SIGKILL in the middle of a large ingest leaves a store that a re-run completes, exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from assistant.core import Assistant
from assistant.settings import Settings
from ingest.pipeline import BATCH_CHUNKS
from tests.conftest import VENV_BIN, run_brief
from tests.data.abstracts import abstracts

DOCS = 240
#: Abstracts joined into each document, in turn: documents of two or three chunks (about 560 in
#: all), so that an ingest writes three batches and a kill lands with work before and after it.
JOINED = (2, 3, 4)


def _write_corpus(folder: Path) -> None:
    folder.mkdir()
    sizes = [JOINED[k % len(JOINED)] for k in range(DOCS)]
    pool = iter(abstracts(sum(sizes)))
    for size in sizes:
        parts = [next(pool) for _ in range(size)]
        body = "\n\n".join(part.text for part in parts)
        (folder / f"{parts[0].id}.txt").write_text(f"{parts[0].title}\n\n{body}")


def _start_ingest(folder: Path, data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(VENV_BIN / "brief"), "ingest", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "BRIEF_DATA_DIR": str(data)},
    )


def _kill_after(proc: subprocess.Popen[str], marker: str, extra_s: float) -> list[str]:
    """Read output until ``marker`` appears, wait ``extra_s``, then SIGKILL."""
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            break
    time.sleep(extra_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return lines


# Runs ``brief ingest`` in a child process that SIGKILLs itself at the worst moment: half-way
# through writing a batch of chunks to Chroma, or after a new version is committed but before
# the old version's chunks are deleted. Nothing in the product is faked; the kill is real.
_DIE_DURING = """
import os, signal, sys
from assistant.index import store

where, folder = sys.argv[1], sys.argv[2]
real_write, real_drop = store.Index.write_chunks, store.Index.drop
calls = {"write": 0}

def write_then_die(self, collection, ids, vectors, texts, metas):
    calls["write"] += 1
    if where == "write" and calls["write"] == 2:
        half = len(ids) // 2
        real_write(self, collection, ids[:half], vectors[:half], texts[:half], metas[:half])
        os.kill(os.getpid(), signal.SIGKILL)
    real_write(self, collection, ids, vectors, texts, metas)

def drop_then_die(self, entries):
    if where == "drop" and any(e.action == "drop" for e in entries):
        os.kill(os.getpid(), signal.SIGKILL)
    real_drop(self, entries)

store.Index.write_chunks = write_then_die
store.Index.drop = drop_then_die
from assistant.faces.cli import main
sys.exit(main(["ingest", folder]))
"""


def _run_and_die(where: str, folder: Path, data: Path) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "python"), "-c", _DIE_DURING, where, str(folder)],
        capture_output=True,
        text=True,
        env={**os.environ, "BRIEF_DATA_DIR": str(data)},
        timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


def _check_consistent(data: Path) -> Assistant:
    a = Assistant(Settings(data_dir=data))
    assert a.index.registry.pending() == []
    col = a.index.chroma_collection("default")
    got = col.get(include=["metadatas"])
    assert len(got["ids"]) == len(set(got["ids"]))
    by_doc: dict[str, list[dict]] = {}
    for meta in got["metadatas"]:
        by_doc.setdefault(meta["doc_id"], []).append(meta)
    docs = {d.doc_id: d for d in a.documents()}
    assert set(by_doc) == set(docs), "chunks without a document, or a document without chunks"
    for doc_id, metas in by_doc.items():
        doc = docs[doc_id]
        assert len(metas) == doc.chunk_count, doc.source
        assert {m["hash"] for m in metas} == {doc.content_hash}
        assert sorted(m["chunk"] for m in metas) == list(range(doc.chunk_count))
    # Sentence vectors exist for exactly the live version of every document.
    import sqlite3

    with sqlite3.connect(a.settings.registry_path) as db:
        versions = set(db.execute("SELECT DISTINCT doc_id, content_hash FROM sentences"))
    assert versions == {(d.doc_id, d.content_hash) for d in docs.values()}
    return a


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    _write_corpus(folder)
    data = tmp_path / "data"

    # First kill: while the second batch is being embedded or written.
    proc = _start_ingest(folder, data)
    lines = _kill_after(proc, "ingested", 1.5)
    assert proc.returncode == -signal.SIGKILL
    assert any("ingested" in line for line in lines)

    # Second kill: the re-run is interrupted too, a little later in its own work.
    proc = _start_ingest(folder, data)
    _kill_after(proc, "chunks embedded", 0.7)

    # A clean run finishes the job.
    final = run_brief("ingest", str(folder), data_dir=data, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr
    a = _check_consistent(data)
    assert len(a.documents()) == DOCS
    # The corpus keeps its shape: more than two batches, so both kills land mid-run.
    assert a.index.count("default") > 2 * BATCH_CHUNKS

    # And nothing is left to do.
    again = run_brief("ingest", str(folder), data_dir=data, timeout=600)
    assert f"0 ingested, {DOCS} unchanged, 0 failed" in again.stdout


def test_sigkill_at_the_worst_moments(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    _write_corpus(folder)
    data = tmp_path / "data"

    # Killed half-way through writing the second batch's chunks.
    _run_and_die("write", folder, data)
    a = Assistant(Settings(data_dir=data))
    committed = {d.doc_id for d in a.documents()}
    assert 0 < len(committed) < DOCS
    stray = [e for e in a.index.registry.pending() if e.action == "add"]
    assert stray, "the kill should have left an unfinished batch in the journal"
    # Searches never show the half-written batch.
    for p in a.search("soil bacteria and nitrogen uptake in wheat", k=20):
        assert p.doc_id in committed

    # Change some files, then get killed after the new versions are live but before the old
    # chunks are gone.
    assert run_brief("ingest", str(folder), data_dir=data, timeout=600).returncode == 0
    changed = sorted(folder.iterdir())[:5]
    for path in changed:
        path.write_text(path.read_text() + "\n\nAn added closing remark on the findings.")
    _run_and_die("drop", folder, data)

    final = run_brief("ingest", str(folder), data_dir=data, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr
    assert "recovered" in final.stdout
    assert f"0 ingested, {DOCS} unchanged, 0 failed" in final.stdout
    a = _check_consistent(data)
    assert len(a.documents()) == DOCS
