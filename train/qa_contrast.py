"""Questions made unanswerable by one word (``train/qa_reader.py --contrast``), an
experiment measured and not kept (README, issue 23): each keeps every word of a question but
one, which its answering window says and the new question does not, so that the window shares
all the rest and must still not answer.
"""

from __future__ import annotations

import random
import re

import numpy as np
from qa_data import _TOKEN, Example, ending

#: A lower-case word of four letters or more: not a name, not a short function word.
_LOWER = re.compile(r"\b[a-z]{4,}\b")
#: Words of four letters or more that carry no relation of their own (grammar, not content).
_GRAMMAR = set(
    "what which when where whose with that this these those from into than then have "
    "been were will would could should their there they them does about after before".split()
)


def _neighbours(words: list[str], k: int = 40, skip: int = 5) -> dict[str, list[str]]:
    """For each word, the words ranked ``skip``..``k`` by the packaged MiniLM's cosine: words
    of the same kind ("senator" for "president", "lost" for "won"), the closest few skipped
    as likely the same word in other form or a synonym."""
    from assistant.index.embeddings import Embedder

    vectors = Embedder().embed(words)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    out: dict[str, list[str]] = {}
    for i in range(0, len(words), 1024):
        sims = vectors[i : i + 1024] @ vectors.T
        for r, row in enumerate(sims):
            best = np.argpartition(-row, k + 1)[: k + 1]
            best = best[np.argsort(-row[best])]
            out[words[i + r]] = [words[j] for j in best[1 + skip : k + 1]]
    return out


def contrast_groups(groups: list[list[Example]], n: int, seed: int) -> list[list[Example]]:
    """``n`` questions made unanswerable by one word (``--contrast``): a question whose window
    answers it, with one of its lower-case words that the answering window also says
    ("acting", "won", "president") swapped for a word of the same kind (``_neighbours``) and
    ending that none of its windows says ("permanent", "lost", "senator"); all its windows
    become "no answer". The window still shares every other word with the question, as a
    document does that answers a near question (the interim manager for the permanent one):
    the reader must read the relation, not the overlap."""
    rng = random.Random(seed + 7)
    vocab: set[str] = set()
    for group in groups:
        vocab.update(w for w in _LOWER.findall(group[0][0]) if w not in _GRAMMAR)
    near = _neighbours(sorted(vocab))
    order = list(range(len(groups)))
    rng.shuffle(order)
    out: list[list[Example]] = []
    for g in order:
        if len(out) >= n:
            break
        group = groups[g]
        answered = [x for x in group if x[2]]
        if not answered or group[0][3] == "qed":  # QED's questions are lower case, names too
            continue
        question = group[0][0]
        _, text, at, _ = answered[0]
        answer = text[at[0] : at[1]].lower()
        said = set(_TOKEN.findall(text.lower()))
        every = set(_TOKEN.findall(" ".join(x[1] for x in group).lower()))
        words = [
            w
            for w in dict.fromkeys(_LOWER.findall(question))
            if w in near and w in said and w not in answer
        ]
        if not words:
            continue
        w = rng.choice(words)
        options = [
            v for v in near[w] if v not in every and v[:3] != w[:3] and ending(v) == ending(w)
        ]
        if not options:
            continue
        changed = re.sub(rf"\b{w}\b", rng.choice(options), question, count=1)
        out.append([(changed, x[1], None, x[3]) for x in group])
    return out
