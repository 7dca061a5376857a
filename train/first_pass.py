"""Fit the first pass (``assistant/answering/windows.py``): which sentences the reader reads.

The reader reads about 16 windows of a question's 30 retrieved passages; the first pass picks
them by a weighted sum of each sentence's features (``windows.FEATURES``: its cosine with the
question, its passage's retrieval score and cosine, its share of the question's key terms
alone and with its neighbours, its neighbours' best cosine). The weights are fitted here, on
news weeks of 2025 before the held-out block (``train/qa_data.py``'s ``HELD_OUT_FROM``), each
13 weeks ingested as one collection as ``bench/heldout.py`` ingests its halves: for each quiz
question whose answer its collection holds, the product's own retrieval and candidates, and a
softmax over them whose target is the sentences holding the answer (the fit that ranks the
answer's sentence first, whatever the scale of a question's scores).

    .venv/bin/python train/first_pass.py            # fits, prints, writes nothing
    .venv/bin/python train/first_pass.py --write    # ... and writes first_pass.json

Seeded and deterministic; the candidates are cached in ``train/.cache-first-pass`` (about 10
minutes on 2 cores to ingest and gather them, seconds to fit).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "train"))
sys.path.insert(0, str(REPO / "bench"))

from common import need_shared  # noqa: E402 - offline settings first
from heldout import ensure_store, norm, read_jsonl  # noqa: E402
from qa_data import HELD_OUT_FROM, WEEKS  # noqa: E402

CACHE = REPO / "train" / ".cache-first-pass"
OUT = REPO / "assistant" / "answering" / "first_pass.json"
#: Collections of 13 weeks each (the size of a held-out half), all before the held-out block.
COLLECTIONS = {"fit-q1": ("20250101", "20250401"), "fit-q2": ("20250401", HELD_OUT_FROM)}
#: Windows the product reads (``Settings.read_windows``), for the recall printed.
READ = 16


def weeks_between(first: str, last: str) -> list[str]:
    return sorted(
        p.name for p in WEEKS.iterdir() if p.name[:8].isdigit() and first <= p.name < last
    )


def gather(name: str, weeks: list[str]) -> list[dict[str, Any]]:
    """Each answerable question of the collection with its candidates' features and labels."""
    from assistant.answering import windows
    from assistant.answering.question import analyse
    from assistant.answering.responder import READ_DEPTH, READ_PER_DOCUMENT
    from assistant.core import Assistant
    from assistant.settings import Settings

    a = Assistant(Settings(data_dir=CACHE / "store", answerer="reader"))
    articles = ensure_store(a, CACHE / "store", name, weeks)
    haystack = "\n".join(norm(x.get("title") or "") + "\n" + norm(x["text"]) for x in articles)
    asked = [
        q
        for w in weeks
        for q in read_jsonl(WEEKS / w / "questions.jsonl")
        if q.get("answer_in_collection") and norm(q["answer"]) in haystack
    ]
    responder = a.responder
    out = []
    for k, q in enumerate(asked, 1):
        gold = norm(q["answer"])
        vector, _ = a.index.embedder.embed_query(q["question"])
        passages = a.retriever.retrieve(
            q["question"], vector, name, k=READ_DEPTH, per_document=READ_PER_DOCUMENT
        )
        idf = a.retriever.lexical(name).weights(analyse(q["question"]).terms)
        found, _ = windows.candidates(passages, vector, responder.vectors, name, idf)
        rows = []
        for s in found:
            text = s.passage.text[s.start - s.passage.start : s.end - s.passage.start]
            rows.append([*(s.features[f] for f in windows.FEATURES), float(gold in norm(text))])
        out.append({"id": q["id"], "candidates": rows})
        if k % 50 == 0:
            print(f"[{name}] {k}/{len(asked)}", flush=True)
    return out


def fit(questions: list[np.ndarray], l2: float = 1e-3, steps: int = 3000) -> np.ndarray:
    """Weights maximising, over the questions, the softmax probability of the candidates that
    hold the answer (features standardised for the descent; returned on their own scale)."""
    every = np.concatenate([q[:, :-1] for q in questions])
    mean, sd = every.mean(0), every.std(0) + 1e-9
    xs = [(q[:, :-1] - mean) / sd for q in questions]
    ys = [q[:, -1] > 0 for q in questions]
    w = np.zeros(every.shape[1])
    rate = 0.5
    for _ in range(steps):
        grad = l2 * w
        for x, y in zip(xs, ys, strict=True):
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pos = p * y
            grad += x.T @ p - x.T @ (pos / pos.sum())
        w -= rate * grad / len(xs)
    return w / sd


def recall(questions: list[np.ndarray], weights: np.ndarray, n: int = READ) -> float:
    """Share of questions with an answer-holding sentence among their ``n`` best candidates
    (each candidate read with its neighbours, the product reads a little more than this)."""
    hits = 0
    for q in questions:
        order = np.argsort(-(q[:, :-1] @ weights), kind="stable")
        hits += bool(q[order[:n], -1].any())
    return hits / max(1, len(questions))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.name}")
    args = parser.parse_args()
    need_shared(WEEKS)
    from assistant.answering import windows

    gathered: dict[str, list[dict[str, Any]]] = {}
    for name, (first, last) in COLLECTIONS.items():
        path = CACHE / f"{name}.json"
        if not path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(gather(name, weeks_between(first, last))))
        gathered[name] = json.loads(path.read_text())
    questions = [
        np.array(q["candidates"])
        for rows in gathered.values()
        for q in rows
        if q["candidates"] and any(c[-1] for c in q["candidates"])
    ]
    asked = sum(len(rows) for rows in gathered.values())
    print(f"{asked} questions, {len(questions)} with the answer among their candidates")
    default = np.array([dict(windows.FirstPass().weights).get(f, 0.0) for f in windows.FEATURES])
    weights = fit(questions)
    # each collection fitted without it, for a recall the fit has not seen
    held = {}
    names = list(gathered)
    for name in names:
        rest = [np.array(q["candidates"]) for n in names if n != name for q in gathered[n]]
        train = [q for q in rest if len(q) and q[:, -1].any()]
        test = [
            np.array(q["candidates"])
            for q in gathered[name]
            if q["candidates"] and any(c[-1] for c in q["candidates"])
        ]
        held[name] = {
            "default": round(recall(test, default), 3),
            "fitted on the other": round(recall(test, fit(train)), 3),
        }
    figures = {
        "questions": len(questions),
        f"recall_at_{READ}": {
            "default": round(recall(questions, default), 3),
            "fitted": round(recall(questions, weights), 3),
        },
        "held_out_collection": held,
    }
    print(json.dumps(figures, indent=1))
    fitted = {f: round(float(w), 4) for f, w in zip(windows.FEATURES, weights, strict=True)}
    print("weights", fitted)
    if args.write:
        OUT.write_text(
            json.dumps(
                {
                    "weights": fitted,
                    "fitted_on": "train/first_pass.py: RealTime QA weeks 2025-01 to 2025-06",
                    "figures": figures,
                },
                indent=2,
            )
            + "\n"
        )
        print("wrote", OUT.relative_to(REPO))


if __name__ == "__main__":
    main()
