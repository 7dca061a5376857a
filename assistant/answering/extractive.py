"""The offline answerer: the answer is the sources' own sentences, quoted verbatim.

From the best passages, every sentence is a candidate. Each is scored on its evidence: its
meaning (cosine to the question), its words (the share of the question's key terms it
contains, rare terms weighing more), whether it holds the kind of thing the question asks for
(a person for "who", a date for "when"...) and whether it adds something the question does
not say. The trained reader (``reader.py``) turns that evidence into the probability that the
sentence holds the answer: the sentence that answers wins over the one that merely restates
the question. (Without a shipped reader, a weighted sum of the first three is the score.)
The best sentence is the answer; one or two more join it when they add key terms the first
lacks, or when the first begins with a pronoun whose referent is the sentence before.
Nothing is paraphrased.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cachetools import LRUCache

from assistant.answering import reader
from assistant.answering.question import Question, has_kind, is_instruction
from assistant.index.embeddings import Embedder
from assistant.index.lexical import tokenize
from assistant.index.passages import Passage
from assistant.index.registry import Registry
from assistant.text.sentences import sentence_spans

_CLOSED = re.compile(r"[.!?…:;\"”’')\]]\s*$")
_PRONOUN_START = re.compile(r"^[\"“]?(He|She|They|It|This|That|These|Those|His|Her|Their|Its)\b")


@dataclass
class Weights:
    """How much each kind of evidence counts (tuned on SQuAD dev500 by ``bench/qa.py``)."""

    dense: float = 0.5
    coverage: float = 0.35
    kind: float = 0.1
    rank: float = 0.05
    #: The kind signal for "which X" and "what did Y say" questions, whose detectors are
    #: specific (a named X; a quotation or a verb of saying) where "a number" is everywhere.
    specific_kind: float = 0.1
    #: Score by the shipped reader (``reader.py``) where there is one; the weights above
    #: then only choose which sentences without a stored vector to embed.
    use_reader: bool = True
    #: Added to the reader's logit: for the passage's rank (times 1 / (1 + rank)) and for
    #: closeness in meaning plus key-term coverage. The reader learnt from one paragraph
    #: and two unrelated ones; retrieval knows which passage is about the question, and
    #: SQuAD's questions share words with their answer. The smallest values that keep SQuAD
    #: dev500's fitting half's first citation on the gold paragraph (``bench/qa.py``).
    reader_rank: float = 1.0
    reader_lexical: float = 2.0

    @classmethod
    def shipped(cls) -> Weights:
        """The tuned weights from ``assistant/answering/calibration.json``, else the defaults."""
        path = Path(__file__).with_name("calibration.json")
        if path.exists():
            data = json.loads(path.read_text()).get("sentence_weights")
            if data:
                return cls(**data)
        return cls()


@dataclass
class Candidate:
    """A sentence of a retrieved passage, with its evidence."""

    passage: Passage
    rank: int  # rank of its passage, 0 = best
    start: int  # offsets in the document's text
    end: int
    text: str
    dense: float = 0.0
    coverage: float = 0.0
    typed: bool = False
    score: float = 0.0
    terms: set[str] = field(default_factory=set)
    #: The reader's logit (None where no reader scored it).
    logit: float | None = None


class SentenceVectors:
    """Sentence vectors: stored at ingest (pooled from the chunk's pass), else embedded now.

    Embedded ones are kept in a small LRU so a repeated question costs nothing.
    """

    def __init__(self, embedder: Embedder, registry: Registry, capacity: int = 20_000) -> None:
        self.embedder = embedder
        self.registry = registry
        #: Vectors embedded now, by text; touched under ``_cache_lock`` only.
        self._cache: LRUCache[str, np.ndarray] = LRUCache(maxsize=capacity)
        self._cache_lock = threading.Lock()

    def stored(self, collection: str, found: list[Candidate]) -> list[np.ndarray | None]:
        """The ingest-time vector of each candidate, or None where there is none."""
        by_passage: dict[tuple[str, str | None, int, int], dict] = {}
        out: list[np.ndarray | None] = []
        for cand in found:
            p = cand.passage
            key = (p.doc_id, p.version, p.start, p.end)
            if key not in by_passage:
                by_passage[key] = (
                    self.registry.sentence_vectors(collection, p.doc_id, p.version, p.start, p.end)
                    if p.version
                    else {}
                )
            out.append(by_passage[key].get((cand.start, cand.end)))
        return out

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of texts embedded now (one per text)."""
        with self._cache_lock:
            known = {t: v for t in texts if (v := self._cache.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            vectors = self.embedder.embed(missing)
            with self._cache_lock:
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = vec
                    known[text] = vec
        return np.stack([known[t] for t in texts])


def candidates(passages: list[Passage], max_passages: int) -> list[Candidate]:
    """The sentences of the best passages, each once (passages of one document may overlap).

    Headings and titles (a line of its own without closing punctuation) are candidates only
    when nothing else is: a headline names a topic, the sentences under it state the facts.
    """
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    headings: list[Candidate] = []
    for rank, passage in enumerate(passages[:max_passages]):
        for a, b in sentence_spans(passage.text):
            start, end = passage.start + a, passage.start + b
            text = passage.text[a:b]
            if (passage.doc_id, start) in seen or len(text) < 12 or is_instruction(text):
                continue
            seen.add((passage.doc_id, start))
            line = (a == 0 or passage.text[a - 1] == "\n") and passage.text[b : b + 1] in ("", "\n")
            target = headings if line and not _CLOSED.search(text) else out
            target.append(Candidate(passage, rank, start, end, text))
    return out or headings


def score(
    question: Question,
    qvec: np.ndarray,
    found: list[Candidate],
    vectors: SentenceVectors,
    idf: dict[str, float],
    weights: Weights,
    collection: str,
) -> None:
    """Fill in each candidate's evidence and combined score.

    Meaning comes from the sentence vectors stored at ingest. Sentences without one (ingested
    by an older version) are embedded now, but only the ``EMBEDDED`` that stand best on words
    and answer type: a sentence sharing nothing with the question does not win on meaning
    alone, and the model costs time. With the shipped reader, ``score`` is its probability
    that the sentence holds the answer; else the weighted sum of ``combine``.
    """
    if not found:
        return
    total = sum(idf.get(t, 1.0) for t in question.terms) or 1.0
    term_lists = tokenize([c.text for c in found])
    for cand, terms in zip(found, term_lists, strict=True):
        cand.terms = with_stems(set(terms), question.terms)
        cand.dense = 0.0
        cand.coverage = sum(idf.get(t, 1.0) for t in question.terms if t in cand.terms) / total
        cand.typed = has_kind(cand.text, question.kind, question.focus)
        cand.score = combine(weights, cand, question.kind)
    missing = []
    vecs = np.zeros((len(found), reader.DIM), dtype=np.float32)
    for i, (cand, vec) in enumerate(zip(found, vectors.stored(collection, found), strict=True)):
        if vec is None:
            missing.append(i)
        else:
            vecs[i] = vec
            cand.dense = float(vec @ qvec)
            cand.score = combine(weights, cand, question.kind)
    shortlist = sorted(missing, key=lambda i: -found[i].score)[:EMBEDDED]
    if shortlist:
        embedded = vectors.embed([found[i].text for i in shortlist])
        for i, vec in zip(shortlist, embedded, strict=True):
            vecs[i] = vec
            found[i].dense = float(vec @ qvec)
            found[i].score = combine(weights, found[i], question.kind)
    model = reader.shipped() if weights.use_reader else None
    if model is not None:
        read(model, question, qvec, found, vecs, weights)


def read(
    model: reader.Model,
    question: Question,
    qvec: np.ndarray,
    found: list[Candidate],
    vecs: np.ndarray,
    weights: Weights,
) -> None:
    """Score each candidate by the reader: ``logit`` is the reader's own, ``score`` the
    probability after the retrieval and wording terms of ``weights`` are added."""
    s = reader.Sentences(
        texts=[c.text for c in found],
        vectors=vecs,
        dense=np.array([c.dense for c in found]),
        coverage=np.array([c.coverage for c in found]),
        typed=np.array([float(c.typed) for c in found]),
        missing=np.array([sum(1 for t in question.terms if t not in c.terms) for c in found]),
    )
    logits = model.score(reader.features(question, qvec, s))
    for cand, z in zip(found, logits, strict=True):
        cand.logit = float(z)
        z = (
            z
            + weights.reader_rank / (1 + cand.rank)
            + weights.reader_lexical * (cand.dense + cand.coverage)
        )
        cand.score = reader.sigmoid(z)


SPECIFIC_KINDS = frozenset({"instance", "statement"})
#: Sentences per question whose meaning is measured with the model (the rest are out of the
#: running on words and answer type): enough for the answer, few enough for ~100 ms.
EMBEDDED = 4


def combine(weights: Weights, cand: Candidate, kind: str | None) -> float:
    """A candidate's score from its evidence."""
    kind_weight = weights.specific_kind if kind in SPECIFIC_KINDS else weights.kind
    return (
        weights.dense * cand.dense
        + weights.coverage * cand.coverage
        + kind_weight * (1.0 if cand.typed else 0.0)
        + weights.rank * (1.0 / (1 + cand.rank))
    )


def with_stems(terms: set[str], wanted: list[str]) -> set[str]:
    """``terms`` plus each wanted term that a sentence term extends ("found" in "founder").

    The stemmer leaves derived forms apart ("founded" -> "found", "founder" -> "founder"); a
    shared start of five letters or more is close enough to count.
    """
    out = set(terms)
    for want in wanted:
        if want not in out and len(want) >= 5 and any(t.startswith(want) for t in terms):
            out.add(want)
    return out


def lead(question: Question, found: list[Candidate]) -> Candidate | None:
    """The sentence the answer rests on: the best scored, unless the question wants a person,
    a number, a named thing... and a near-best sentence has one where the best has none.
    Abstention judges this sentence (``abstain.features``), since it is the one quoted."""
    return _lead(question, sorted(found, key=lambda c: -c.score)) if found else None


def _lead(question: Question, ranked: list[Candidate]) -> Candidate:
    best = ranked[0]
    # The reader has weighed the answer's kind already; the switch is for the weighted sum.
    if question.kind and not best.typed and best.logit is None:
        typed = next((c for c in ranked if c.typed and c.score >= 0.75 * best.score), None)
        if typed is not None:
            return typed
    return best


def pick(question: Question, found: list[Candidate], limit: int = 3) -> list[Candidate]:
    """The answer's sentences, in document order: the best, plus what completes it."""
    if not found:
        return []
    ranked = sorted(found, key=lambda c: -c.score)
    best = _lead(question, ranked)
    ranked.remove(best)
    ranked.insert(0, best)
    chosen = [best]
    covered = {t for t in question.terms if t in best.terms}
    # A sentence that starts "He said..." reads wrongly alone: bring the one before it.
    if _PRONOUN_START.match(best.text):
        before = [
            c
            for c in found
            if c.passage.doc_id == best.passage.doc_id
            and c.end < best.start
            and best.start - c.end <= 3
        ]
        if before:
            chosen.insert(0, before[-1])
    for cand in ranked[1:]:
        if len(chosen) >= limit:
            break
        new_terms = {t for t in question.terms if t in cand.terms} - covered
        if cand.score >= 0.85 * best.score and new_terms and cand not in chosen:
            chosen.append(cand)
            covered |= new_terms
    # The answer leads with its best sentence (after the one it leans on, if any); the rest
    # follow in the order they stand in the sources.
    at = chosen.index(best)
    rest = sorted(chosen[at + 1 :], key=lambda c: (c.rank, c.start))
    return chosen[: at + 1] + rest
