"""Every embedding pass runs on one core, on whichever thread it runs.

A pass split across the cores of a small machine waits at every layer for the other core; while
another process or thread holds that core, a question's 5 ms pass took about 0.5 s
(``bench/speed.py``). So no pass may run with torch set to more than one thread, and none may
switch the setting: not a question's pass, not an answer sentence's, not an ingest's batches.
"""

from __future__ import annotations

import threading

import torch

from assistant.index.embeddings import Embedder

QUESTION = "Which engines did Kestrel use for its first orbital rocket?"
SENTENCES = [
    f"Sentence {k}: the company used M40 engines, and dock workers returned to work "
    f"after {k} days of strike." * (1 + k % 3)
    for k in range(40)
]


def test_no_pass_runs_on_more_than_one_thread_or_changes_the_setting(monkeypatch) -> None:
    embedder = Embedder(dtype="float32", workers=2)
    embedder.model  # noqa: B018 - loaded first: loading sets torch to one thread
    seen: list[tuple[str, int]] = []
    forward = embedder._forward

    def recording(*args: object, **kwargs: object) -> object:
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return forward(*args, **kwargs)

    settings: list[int] = []
    monkeypatch.setattr(embedder, "_forward", recording)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: settings.append(n))

    embedder.embed_query(QUESTION)  # a question (the pass thread)
    embedder.token_vectors(SENTENCES[:2])  # answer sentences (the pass thread)
    embedder.embed([QUESTION])  # a query through embed: on the caller's thread
    embedder.embed(SENTENCES)  # an ingest's batches: on the worker threads
    embedder.embed_with_spans(SENTENCES[:8], [[(0, 10)]] * 8)

    names = {name for name, _ in seen}
    assert any(name.startswith("embed-passes") for name in names)
    assert any(name.startswith("embed_") for name in names)  # the ingest's workers
    assert threading.current_thread().name in names
    assert [threads for _, threads in seen] == [1] * len(seen)
    assert settings == []


def test_passes_stay_on_one_core_after_the_reader_read_on_two() -> None:
    """The reader sets two threads on its own thread for its passes; torch hands a thread
    started later the last count set, so an embedding pass there would run on two cores."""
    from assistant.answering.qa_reader import READ_THREADS, Reader

    embedder = Embedder(dtype="float32", workers=2)
    embedder.model  # noqa: B018
    reader = Reader(dtype="float32")
    reader.read(QUESTION, ["The company used M40 engines for its first orbital rocket."])
    seen: list[int] = []
    forward = embedder._forward

    def recording(*args: object, **kwargs: object) -> object:
        result = forward(*args, **kwargs)
        seen.append(torch.get_num_threads())
        return result

    embedder._forward = recording  # type: ignore[method-assign]
    fresh = threading.Thread(target=lambda: embedder.embed([QUESTION]))  # a thread started now
    fresh.start()
    fresh.join()
    embedder.embed(SENTENCES)
    embedder.embed_query(QUESTION + " again")
    assert READ_THREADS >= 1 and seen and set(seen) == {1}
