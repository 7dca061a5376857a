"""Training groups made of exactly what the product reads: for each quiz question of news
weeks before the held-out block, the windows ``Assistant.ask`` would read (the retrieval's 30
passages, ``windows.select``'s 16 windows) in a collection of 13 weeks, each labelled by
whether it holds the answer string (distant supervision, as ``qa_data.weeks``), all "no
answer" for a question whose answer no article of the collection holds.

The near misses of ``qa_data`` are the sentences of a week that share most of a question's
rare words; the product's windows are chosen by the first pass over a collection of 650
articles, and the reader must single out the one that answers among them. These groups teach
that choice on the windows themselves (``train/qa_reader.py --product``).

The collections are ``train/first_pass``'s (2025-01 to 2025-06, two of 13 weeks, in
``train/.cache-first-pass``; built here if missing, about 10 minutes on 2 cores). Seeded and
deterministic; cached in ``train/.cache-first-pass/product-groups.json``.

    .venv/bin/python train/product_windows.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "train"))
sys.path.insert(0, str(REPO / "bench"))

from common import need_shared  # noqa: E402 - offline settings first
from heldout import ensure_store, norm, read_jsonl  # noqa: E402
from qa_data import HELD_OUT_FROM, WEEKS  # noqa: E402

CACHE = REPO / "train" / ".cache-first-pass"
GROUPS = CACHE / "product-groups.json"
#: Collections of 13 weeks each (the size of a held-out half), all before the held-out block.
COLLECTIONS = {"fit-q1": ("20250101", "20250401"), "fit-q2": ("20250401", HELD_OUT_FROM)}

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def weeks_between(first: str, last: str) -> list[str]:
    return sorted(
        p.name for p in WEEKS.iterdir() if p.name[:8].isdigit() and first <= p.name < last
    )


def locate(answer: str, text: str) -> tuple[int, int] | None:
    """The first place ``text`` says ``answer`` (case, curly quotes and runs of white space
    aside), as character offsets, or None."""
    words = answer.translate(_QUOTES).split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    found = re.search(rf"(?<!\w){pattern}(?!\w)", text.translate(_QUOTES), re.I)
    return (found.start(), found.end()) if found else None


def gather(name: str, weeks: list[str]) -> list[list[list[Any]]]:
    """The groups of one collection: (question, window text, answer offsets or None, source)
    for each window the product reads."""
    from assistant.answering import windows
    from assistant.answering.question import analyse
    from assistant.answering.responder import READ_DEPTH, READ_PER_DOCUMENT
    from assistant.core import Assistant
    from assistant.settings import Settings

    a = Assistant(Settings(data_dir=CACHE / "store", answerer="reader"))
    articles = ensure_store(a, CACHE / "store", name, weeks)
    haystack = "\n".join(norm(x.get("title") or "") + "\n" + norm(x["text"]) for x in articles)
    groups = []
    for w in weeks:
        for q in read_jsonl(WEEKS / w / "questions.jsonl"):
            present = norm(q["answer"]) in haystack
            if present and not q.get("answer_in_collection"):
                continue  # the string is there, but not as this question's answer
            vector, _ = a.index.embedder.embed_query(q["question"])
            passages = a.retriever.retrieve(
                q["question"], vector, name, k=READ_DEPTH, per_document=READ_PER_DOCUMENT
            )
            idf = a.retriever.lexical(name).weights(analyse(q["question"]).terms)
            chosen = windows.select(passages, vector, a.responder.vectors, name, 16, idf)
            group = []
            for win in chosen:
                at = locate(q["answer"], win.text) if present else None
                group.append([q["question"], win.text, list(at) if at else None, "product"])
            if group and (not present or any(x[2] for x in group)):
                groups.append(group)  # an answerable question whose windows miss it: left out
    return groups


def product_groups() -> list[list[list[Any]]]:
    """Every collection's groups (cached)."""
    if GROUPS.exists():
        return json.loads(GROUPS.read_text())
    need_shared(WEEKS)
    out: list[list[list[Any]]] = []
    for name, (first, last) in COLLECTIONS.items():
        made = gather(name, weeks_between(first, last))
        answered = sum(any(x[2] for x in g) for g in made)
        print(f"{name}: {len(made)} questions, {answered} with the answer read", flush=True)
        out.extend(made)
    GROUPS.parent.mkdir(parents=True, exist_ok=True)
    GROUPS.write_text(json.dumps(out))
    return out


if __name__ == "__main__":
    groups = product_groups()
    print(f"{len(groups)} groups, {sum(len(g) for g in groups)} windows")
