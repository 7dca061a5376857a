"""The learned reader on collections of several sizes: what its threshold should be for each.

The shipped threshold (``qa_reader.json``) is fitted on one collection of 650 articles
(``bench/heldout.py``'s calibrate half), but most collections people ask of are a handful of
documents. If the fewer documents meant fewer tempting wrong readings for a question the
collection cannot answer, its best score would fall, and a threshold set for 650 articles
would refuse right answers in a small collection. Here each question of a half is asked of
collections of ``SIZES`` documents drawn from that half: its own article (for an answerable
question, the article that holds the answer and shares most words with it and its quiz's
evidence; for an absent one, the article of its best reading in the whole half, the most
tempting one) and others drawn at random (seeded by the question), as ``doc_id`` filters on
the half's store, plus the whole half. Word statistics (BM25, key-term weights) stay the
whole half's.

For each size: the threshold that would abstain on 95% of its absent questions (the reading
scores weighed as shipped), and answered right, short answer holds it, absent abstained at the
shipped threshold. Measured on the calibrate half (2026-12-07, seventh session): the threshold
hardly moves with the size (13.5 for one document, 13.1 for 650): an absent question's most
tempting article is in its collection at every size, and it is that article that sets its
score. So the one threshold stays. Figures go to ``bench/results/sizes_<half>.json``.

    BRIEF_EMBED_DTYPE=float32 .venv/bin/python bench/sizes.py [--half report]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

from common import RESULTS, tap_readings  # first: offline settings, import path
from heldout import (
    DEFAULT_STORE,
    _best_answer,
    _reading,
    at_calibration,
    ensure_store,
    halves,
    norm,
    questions,
    threshold_at,
    use_reader,
)

#: Collection sizes asked of (documents), besides the whole half.
SIZES = (1, 4, 16, 64)
#: Share of a size's absent questions its threshold abstains on (as ``heldout.calibrate``).
TARGET_ABSENT = 0.95


def _words(text: str) -> set[str]:
    return {w for w in norm(text).split() if len(w) > 3}


def anchors(
    asked: list[tuple[dict[str, Any], str]],
    articles: list[dict[str, Any]],
    whole: list[dict],
    doc_of: dict[str, str],
) -> dict[str, str]:
    """Each question's own document in the store (``doc_of``: an article's id to its
    document's): for an answerable one, the article holding the answer that shares most of its
    words; for an absent one, the document of its best reading in the whole half (``whole``:
    rows asked of the whole half), else none."""
    out: dict[str, str] = {}
    tops = {r["id"]: (r.get("readings") or [{}])[0].get("doc") for r in whole}
    texts = {a["id"]: norm((a.get("title") or "") + " " + a["text"]) for a in articles}
    words_of = {i: _words(t) for i, t in texts.items()}
    for q, kind in asked:
        if kind == "answerable":
            gold = norm(q["answer"])
            words = _words(q["question"] + " " + (q.get("evidence") or ""))
            holding = [i for i, t in texts.items() if gold in t]
            if holding:
                best = max(holding, key=lambda i: (len(words & words_of[i]), i))
                out[q["id"]] = doc_of[best]
        elif tops.get(q["id"]):
            out[q["id"]] = str(tops[q["id"]])
    return out


def ask_all(
    assistant: Any, name: str, asked: list, doc_sets: dict[str, list[str]] | None
) -> list[dict[str, Any]]:
    """Each question asked of the half (``doc_sets``: of its own documents only), with every
    reading behind its answer."""
    rows = []
    with tap_readings(assistant) as tapped:
        assert tapped is not None, "BRIEF_ANSWERER=reader"
        for q, kind in asked:
            tapped.clear()
            filters = {"doc_id": doc_sets[q["id"]]} if doc_sets is not None else None
            answer = assistant.ask(q["question"], collection=name, filters=filters)
            gold = norm(q["answer"])
            readings = tapped[-1] if tapped else []
            row: dict[str, Any] = {
                "id": q["id"],
                "kind": kind,
                "abstained": answer.abstained,
                "readings": [_reading(r, gold) for r in readings],
            }
            rows.append(row)
    return rows


def threshold_for(rows: list[dict[str, Any]], weights: dict[str, float]) -> float:
    """The lowest best-answer score that abstains on ``TARGET_ABSENT`` of the absent rows (a
    row without readings always abstains)."""
    tops = []
    for r in rows:
        if r["kind"] != "absent":
            continue
        found = _best_answer(r, weights)
        tops.append(found[0] if found else -math.inf)
    return threshold_at(tops, TARGET_ABSENT)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--half", choices=("calibrate", "report"), default="calibrate")
    parser.add_argument("--weights", type=Path, help="reader weights other than the shipped")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    from assistant.core import Assistant
    from assistant.settings import Settings

    assistant = Assistant(Settings(data_dir=DEFAULT_STORE, answerer="reader"))
    if args.weights:
        use_reader(assistant, args.weights)
    reader = assistant.responder.reader
    flat = json.loads(reader.path.with_suffix(".json").read_text())
    split = halves()
    name = args.half
    articles = ensure_store(assistant, DEFAULT_STORE, name, split[name])
    asked = questions(name, split, articles)
    # the store's documents (an article of two weeks is one file, one document)
    records = assistant.index.registry.list(name)
    doc_of = {Path(r.source).stem: r.doc_id for r in records}
    ids = sorted(r.doc_id for r in records)
    print(f"{name}: {len(articles)} articles, {len(asked)} questions", flush=True)
    whole = ask_all(assistant, name, asked, None)
    own = anchors(asked, articles, whole, doc_of)
    by_size: dict[str, list[dict[str, Any]]] = {str(len(articles)): whole}
    for size in SIZES:
        sets = {}
        for q, _ in asked:
            rng = random.Random(f"{q['id']}:{size}")
            first = [own[q["id"]]] if q["id"] in own else []
            others = [i for i in ids if i not in first]
            sets[q["id"]] = first + rng.sample(others, size - len(first))
        by_size[str(size)] = ask_all(assistant, name, asked, sets)
        print(f"size {size}: asked", flush=True)
    weights = flat.get("weights", {})
    out: dict[str, Any] = {"half": name, "articles": len(articles), "sizes": {}}
    for size, rows in by_size.items():
        own_threshold = threshold_for(rows, weights)
        out["sizes"][size] = {
            "own_threshold": round(own_threshold, 3),
            "at_shipped_threshold": at_calibration(rows, flat),
            "at_own_threshold": at_calibration(rows, {**flat, "threshold": own_threshold}),
        }
        print(size, json.dumps(out["sizes"][size]), flush=True)
    out["rows"] = by_size
    label = f"_{args.label}" if args.label else ""
    (RESULTS / f"sizes_{name}{label}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
