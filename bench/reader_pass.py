"""The learned reader's pass, torch against ONNX Runtime, on the windows the product reads.

For questions of the held-out news (``bench/heldout.py``'s calibrate half, its store built by
that bench), the windows are chosen as ``Assistant.ask`` chooses them (``windows.select`` over
the passages retrieved), at 16 windows (the default, ``BRIEF_READ_WINDOWS``) and deeper; each
question's windows are read by both passes of the float32 reader in turn (torch's, then ONNX
Runtime's, alternating which goes first, a pause before each), from a cold cache, so that
both meet the same machine. Reported: milliseconds per pass (p50, p95) for each depth and
pass, the largest difference in a window's margin between the two, and how often the answer
string is in the windows read at each depth (what reading deeper buys). Figures go to
``bench/results/reader_pass.json``.

    .venv/bin/python bench/reader_pass.py [--questions 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime

from common import RESULTS, cpu  # first: offline settings, import path
from heldout import DEFAULT_STORE, WEEKS, halves, norm, questions, read_jsonl

from assistant.answering import windows
from assistant.answering.qa_reader import Reader
from assistant.answering.question import analyse
from assistant.answering.responder import READ_DEPTH, READ_PER_DOCUMENT
from assistant.core import Assistant
from assistant.settings import Settings

DEPTHS = (16, 24, 32)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    a = Assistant(Settings(data_dir=DEFAULT_STORE, answerer="reader", embed_dtype="float32"))
    name = "calibrate"
    split = halves()
    articles = [x for w in split[name] for x in read_jsonl(WEEKS / w / "articles.jsonl")]
    asked = [q for q, kind in questions(name, split, articles) if kind == "answerable"]
    asked = asked[: args.questions]
    onnx = Reader(dtype="float32")
    plain = Reader(dtype="float32", onnx=False)  # torch's own pass
    onnx.read("warm up", ["A first pass loads the model."])
    plain.read("warm up", ["A first pass loads the model."])
    ms: dict[str, list[float]] = {}
    seen: dict[int, list[bool]] = {n: [] for n in DEPTHS}
    worst = 0.0
    for i, q in enumerate(asked):
        vector, _ = a.index.embedder.embed_query(q["question"])
        passages = a.retriever.retrieve(
            q["question"], vector, name, k=READ_DEPTH, per_document=READ_PER_DOCUMENT
        )
        idf = a.retriever.lexical(name).weights(analyse(q["question"]).terms)
        for n in DEPTHS:
            chosen = windows.select(passages, vector, a.responder.vectors, name, n, idf)
            texts = [w.text for w in chosen]
            seen[n].append(norm(q["answer"]) in " ".join(norm(t) for t in texts))
            spans = {}
            order = [("torch", plain), ("onnx", onnx)]
            for label, reader in order if i % 2 == 0 else order[::-1]:
                reader._cache.clear()
                # torch's idle threads spin for a while after a pass and would slow the next
                # pass, whichever it is: let them stop first, as between two users' questions
                time.sleep(0.3)
                started = time.perf_counter()
                spans[label] = reader.read(q["question"], texts)
                ms.setdefault(f"{label} {n}", []).append((time.perf_counter() - started) * 1000)
            for x, y in zip(spans["torch"], spans["onnx"], strict=True):
                if x is not None and y is not None:
                    worst = max(worst, abs(x.margin - y.margin))
    out = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu()[0],
        "questions": len(asked),
        "ms_per_pass": {
            k: {"p50": round(statistics.median(v), 1), "p95": percentile(v, 0.95)}
            for k, v in ms.items()
        },
        "largest_margin_difference": round(worst, 6),
        "answer_in_windows_read": {n: round(sum(v) / len(v), 3) for n, v in seen.items()},
    }
    (RESULTS / "reader_pass.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
