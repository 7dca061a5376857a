"""How often the reader gets to see the answer: the first pass (``answering/windows.py``) at
several depths, on held-out news (``bench/heldout.py``'s calibrate half, where choices are
made; ``--half report`` only to report one made), with no reader pass at all.

For each answerable question, the answer string (compared as ``bench/news.py`` does) is looked
for in the passages retrieved (``BRIEF_READ_PASSAGES``) and in the windows chosen from them
(``BRIEF_READ_WINDOWS``), and the word pieces the reader would read are counted (what its time
grows with). Figures go to ``bench/results/windows.json`` (``windows_report.json``).

    .venv/bin/python bench/windows.py        # after bench/heldout.py has built its store
    .venv/bin/python bench/windows.py --half report
"""

from __future__ import annotations

import argparse
import json
import statistics

from common import RESULTS  # first: offline settings, import path
from heldout import DEFAULT_STORE, WEEKS, halves, norm, questions, read_jsonl

from assistant.answering import windows
from assistant.answering.question import analyse
from assistant.core import Assistant
from assistant.settings import Settings

PASSAGES = (20, 30, 40)
WINDOWS = (8, 12, 16, 24)
#: At most this many passages of one document (the retriever's default is 3).
CAPS = (3, 6)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--half", choices=("calibrate", "report"), default="calibrate")
    name = p.parse_args().half
    a = Assistant(Settings(data_dir=DEFAULT_STORE, answerer="reader"))
    split = halves()
    articles = [x for w in split[name] for x in read_jsonl(WEEKS / w / "articles.jsonl")]
    asked = [q for q, kind in questions(name, split, articles) if kind == "answerable"]
    responder = a.responder
    tok = responder.reader
    tok._load()  # the tokenizer, to count word pieces
    lexical_index = a.retriever.lexical(name)
    found: dict[str, list[bool]] = {}
    pieces: dict[str, list[int]] = {}
    for q in asked:
        gold = norm(q["answer"])
        vector, _ = a.index.embedder.embed_query(q["question"])
        for cap in CAPS:
            deep = a.retriever.retrieve(
                q["question"], vector, name, k=max(PASSAGES), per_document=cap
            )
            for n_passages in PASSAGES:
                passages = deep[:n_passages]
                key = f"cap={cap} passages={n_passages}"
                found.setdefault(key, []).append(any(gold in norm(p.text) for p in passages))
                for n in WINDOWS:
                    for lexical in (False, True):
                        idf = (
                            lexical_index.weights(analyse(q["question"]).terms) if lexical else None
                        )
                        chosen = windows.select(passages, vector, responder.vectors, name, n, idf)
                        key = f"cap={cap} passages={n_passages} windows={n} lexical={lexical}"
                        found.setdefault(key, []).append(any(gold in norm(w.text) for w in chosen))
                        count = sum(
                            len(
                                tok._tokenizer(
                                    q["question"], w.text, truncation="only_second", max_length=192
                                )["input_ids"]
                            )
                            for w in chosen
                        )
                        pieces.setdefault(key, []).append(count)
    out = {
        "half": name,
        "questions": len(asked),
        "answer_seen": {k: round(sum(v) / len(v), 3) for k, v in found.items()},
        "word_pieces_median": {k: statistics.median(v) for k, v in pieces.items()},
    }
    suffix = "" if name == "calibrate" else f"_{name}"
    (RESULTS / f"windows{suffix}.json").write_text(json.dumps(out, indent=1) + "\n")
    for k, v in out["answer_seen"].items():
        print(f"{k:28} {v:.3f} {out['word_pieces_median'].get(k, '')}")


if __name__ == "__main__":
    main()
