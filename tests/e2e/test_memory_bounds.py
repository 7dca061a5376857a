"""What a long-running server keeps stays bounded: caches, the store under replacement, and
glibc's malloc arenas (``assistant/faces/http/arenas.py``). The figures over time are in
``bench/soak.py``."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.answering.alignment import Aligner
from assistant.core import Assistant
from assistant.faces import uploads
from assistant.faces.http.arenas import _glibc, limit_malloc_arenas
from assistant.index import embeddings
from assistant.index.embeddings import EMBEDDING_DIM, Embedder
from assistant.settings import Settings


def _fake_passes(texts: list[str]) -> list[tuple[np.ndarray, tuple[np.ndarray, None]]]:
    """What ``Embedder._passes`` returns, without the model."""
    return [
        (np.zeros(EMBEDDING_DIM, np.float32), (np.zeros((3, EMBEDDING_DIM), np.float32), None))
        for _ in texts
    ]


def test_question_and_sentence_passes_are_kept_to_their_bounds() -> None:
    embedder = Embedder(dtype="float32")
    embedder.__dict__["_passes"] = _fake_passes  # the cached property, without its thread
    for i in range(embeddings.QUERY_CACHE + 300):
        embedder.embed_query(f"question {i}")
    assert len(embedder._queries) == embeddings.QUERY_CACHE
    assert f"question {embeddings.QUERY_CACHE + 299}" in embedder._queries  # newest kept
    assert "question 0" not in embedder._queries  # oldest gone
    for i in range(0, embeddings.SENTENCE_CACHE + 300, 50):
        embedder.token_vectors([f"sentence {j}" for j in range(i, i + 50)])
    assert len(embedder._sentences) == embeddings.SENTENCE_CACHE


def test_alignments_are_kept_to_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    aligner = Aligner(Embedder(dtype="float32"), capacity=64)
    monkeypatch.setattr(aligner, "_align", lambda *args: (0.5, 0.5, 0.5))
    for i in range(500):
        aligner(f"question {i}", "The same sentence.", ["sentenc"])
    assert len(aligner._cache) == 64


def _harbour(version: int) -> bytes:
    return (
        f"Harbour report, version {version}\n\n"
        f"The harbour office counted {100 + version} ships this week. "
        f"Dredging is planned for week {version % 52 + 1}.\n"
    ).encode()


def test_a_document_replaced_again_and_again_leaves_the_store_its_size(
    assistant: Assistant, article_file: Path
) -> None:
    """Every replacement drops the old version everywhere we keep it: Chroma's chunks, the
    registry's rows and sentence vectors, the journal, the BM25 index and the per-collection
    maps. (Chroma's HNSW graph itself keeps deleted vectors, marked; see the README.)"""
    assert assistant.ingest([article_file]).ok

    def sizes() -> dict[str, int]:
        db = sqlite3.connect(assistant.settings.registry_path)
        try:
            rows = {
                table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("documents", "sentences", "journal", "generations")
            }
        finally:
            db.close()
        lexical = assistant.retriever.lexical("default")
        lexical.refresh()
        return {
            **rows,
            "chroma chunks": assistant.index.count("default"),
            "bm25 chunks": len(lexical.chunks),
            "bm25 positions": len(lexical.position),
            "lexical indexes": len(assistant.retriever._lexical),
            "collections open": len(assistant.index._collections),
            "live hash maps": len(assistant.index.registry._live),
        }

    def replace(version: int) -> None:
        report = uploads.add(assistant, "default", [("harbour.txt", io.BytesIO(_harbour(version)))])
        assert report.results[0].status == "ingested", report.results[0]
        assistant.ask(f"How many ships did the harbour office count (ref {version})?")

    replace(0)
    before = sizes()
    for version in range(1, 21):
        replace(version)
    assert sizes() == before


def test_the_setting_caps_arenas_at_two_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIEF_MALLOC_ARENA_MAX", raising=False)
    assert Settings().malloc_arena_max == 2
    monkeypatch.setenv("BRIEF_MALLOC_ARENA_MAX", "0")
    assert Settings().malloc_arena_max == 0
    with pytest.raises(ValidationError):
        Settings(malloc_arena_max=-1)
    assert limit_malloc_arenas(0) is False  # 0: glibc's own choice, nothing called


# Sixteen threads, alive at once, each allocating from malloc; then glibc's own count of arenas.
_ARENAS = textwrap.dedent(
    """
    import ctypes, sys, threading
    from assistant.faces.http.arenas import limit_malloc_arenas
    print(limit_malloc_arenas(int(sys.argv[1])))
    barrier = threading.Barrier(17)
    kept = []
    def work():
        kept.append(bytearray(100_000))  # below the mmap threshold: from an arena
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    barrier.wait()
    ctypes.CDLL(None).malloc_stats()  # to stderr: "Arena 0:", "Arena 1:", ...
    for t in threads:
        t.join()
    """
)


def _arenas(limit: int) -> tuple[str, int]:
    run = subprocess.run(
        [sys.executable, "-c", _ARENAS, str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip(), sum(line.startswith("Arena ") for line in run.stderr.splitlines())


@pytest.mark.skipif(_glibc() is None, reason="malloc arenas are glibc's")
def test_threads_share_the_capped_arenas() -> None:
    applied, capped = _arenas(2)
    assert applied == "True" and capped == 2
    applied, default = _arenas(0)
    assert applied == "False" and default > 2  # without the cap: a pool for (almost) each thread


def test_float32_passes_compile_no_onednn_kernels() -> None:
    """oneDNN would compile and keep a GELU kernel for every new input shape (up to 1,024), and
    those pin heap pages; in float32 the model runs on ATen's kernels instead."""
    code = textwrap.dedent(
        """
        from assistant.index.embeddings import Embedder
        embedder = Embedder(dtype="float32")
        embedder.embed(["a short text", "a somewhat longer text than that one"] * 3)
        embedder.embed_query("and a question?")
        print("done")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "ONEDNN_VERBOSE": "1"},
    )
    assert run.returncode == 0 and "done" in run.stdout, run.stderr
    executed = [line for line in run.stdout.splitlines() if ",primitive,exec," in line]
    assert not executed, executed[:3]
