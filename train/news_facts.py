"""One fact as two outlets wrote it: pairs of sentences of one news week, from different
articles, that give the same fact in other words. Many outlets report one story; this is how
one fact reads in other words, which no edit of a sentence can teach.

Used by the support model's data (``support_data.restatements``: a claim and the span that
supports it) and by the reader's (``qa_cloze``: a question made from one sentence, answered by
the other). Made from the RealTime QA news weeks before the held-out block only.

Word lists here are grammar (function words), not fitted to any document.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from qa_data import WEEKS, _read_jsonl, tokens

from assistant.text.sentences import sentence_spans

#: Short function words: not content.
FUNCTION = set(
    "the a an and or but of to in on at for with by from as that this these those it its is are "
    "was were be been has have had will would can could their they them he she his her who what "
    "which when where why how than then also not into over after before about said says".split()
)
#: What two sentences on one fact share: names inside a sentence (a capitalised word after a
#: lower-case one) and numbers.
MARK = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]+|\d[\d,.]*\d|\d")


@dataclass(frozen=True)
class SameFact:
    """``sentence`` (of one article) and ``other`` (``text[start:end]`` of another article of
    the week, whose sentence spans are ``spans``, ``other`` the ``index``-th)."""

    sentence: str
    other: str
    text: str
    spans: list[tuple[int, int]]
    index: int


def same_facts(week: str, rng: random.Random) -> Iterator[SameFact]:
    """Sentences of one article with a sentence of another article of the same week that
    gives the same fact in other words: every number and name of the first (two or more) is
    in the other, most of its rarer words too, it is no longer than the other, and it is not
    a copy. At most one other for each sentence, the sentences in a seeded order."""
    articles = [a["text"] for a in _read_jsonl(WEEKS / week / "articles.jsonl")]
    sents: list[tuple[int, str, set[str], set[str], int, list[tuple[int, int]]]] = []
    for t, text in enumerate(articles):
        spans = sentence_spans(text)
        for i, (a, b) in enumerate(spans):
            s = text[a:b].strip()
            if 8 <= len(s.split()) <= 40:
                sents.append((t, s, set(MARK.findall(s)), tokens(s), i, spans))
    df: dict[str, int] = {}
    for sent in sents:
        for w in sent[3]:
            df[w] = df.get(w, 0) + 1
    by_mark: dict[str, list[int]] = {}
    for k, sent in enumerate(sents):
        for m in sent[2]:
            by_mark.setdefault(m, []).append(k)
    order = list(range(len(sents)))
    rng.shuffle(order)
    for k in order:
        t, s, marks, toks, _, _ = sents[k]
        if len(marks) < 2:
            continue
        seen: dict[int, int] = {}
        for m in marks:
            for j in by_mark.get(m, []):
                seen[j] = seen.get(j, 0) + 1
        rare = {w for w in toks if df[w] <= 20 and w not in FUNCTION}
        for j, shared in seen.items():
            u, other, omarks, otoks, i, spans = sents[j]
            if u == t or shared < 2 or not marks <= omarks or "?" in s + other:
                continue
            if len(s.split()) > len(other.split()) + 3 or not rare:
                continue
            share = len(rare & otoks) / len(rare)
            same = len(toks & otoks) / len(toks | otoks)
            if share >= 0.8 and same < 0.7:
                yield SameFact(s, other, articles[u], spans, i)
                break
