"""What the reader reads: windows of a sentence and its neighbours, the best few of the
retrieved passages' sentences.

Reading every sentence of every retrieved passage with the model would cost seconds, so a
cheap first pass ranks them by three scores on the same 0-1 scale, added without weights: the
cosine of the sentence's vector stored at ingest (``Embedder.embed_with_spans``) with the
question's, its passage's retrieval score, and the share of the question's key terms it
holds, each term weighted by its rarity in the collection (``LexicalIndex.weights``). A
sentence close in meaning, holding the question's rare words, inside a passage that matched,
stands first. The best ``n`` sentences, each with the
sentence before and after it in its passage (a sentence that says "he" needs the one naming
him), are the windows; windows that would overlap are merged, so no text is read twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.answering import extractive
from assistant.answering.question import is_instruction
from assistant.index.lexical import tokenize
from assistant.index.passages import Passage
from assistant.text.sentences import sentence_spans

#: A "sentence" shorter than this (a dateline, a bullet's number) is no answer on its own.
MIN_CHARS = 12
#: Overlapping windows merge up to this many sentences (the reader reads 192 word pieces).
MAX_SENTENCES = 5


@dataclass
class Window:
    """Consecutive sentences of one passage, read together: ``text`` is the document's
    ``[start:end]`` and ``sentences`` the (start, end) of each, in document offsets."""

    passage: Passage
    start: int
    end: int
    text: str
    sentences: list[tuple[int, int]]
    #: The first pass's score of the best sentence it was chosen for.
    score: float

    def sentence_at(self, offset: int) -> tuple[int, int]:
        """The sentence (document offsets) holding document offset ``offset``."""
        for a, b in self.sentences:
            if offset < b:
                return a, b
        return self.sentences[-1]


@dataclass
class _Sentence:
    passage: Passage
    index: int  # within the passage's sentences
    start: int  # document offsets
    end: int
    score: float = 0.0


class SentenceVectors(extractive.SentenceVectors):
    """The sentence vectors of ``extractive``, stored at ingest or embedded now (the same LRU),
    looked up by a passage's sentence spans."""

    def of(self, collection: str, passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
        """One vector per sentence span (document offsets) of ``passage``."""
        stored = (
            self.registry.sentence_vectors(
                collection, passage.doc_id, passage.version, passage.start, passage.end
            )
            if passage.version
            else {}
        )
        found = [stored.get(span) for span in spans]
        missing = [passage.at(a, b) for (a, b), v in zip(spans, found, strict=True) if v is None]
        fresh = iter(self.embed(missing)) if missing else iter(())
        vectors = [next(fresh) if v is None else v for v in found]
        return np.stack(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)


def select(
    passages: list[Passage],
    qvec: np.ndarray,
    vectors: SentenceVectors,
    collection: str,
    n: int,
    idf: dict[str, float] | None = None,
) -> list[Window]:
    """The windows to read, best first: around the ``n`` best sentences of ``passages``.

    ``idf``: the question's key terms with their weights; a sentence's share of them (by
    weight) is added to its score."""
    by_passage: list[tuple[Passage, list[tuple[int, int]], set[int]]] = []
    found: list[_Sentence] = []
    seen: set[tuple[str, int]] = set()
    for passage in passages:
        spans = [(passage.start + a, passage.start + b) for a, b in sentence_spans(passage.text)]
        # a sentence that reads as an instruction to an assistant is never read, not even as
        # a neighbour: the reader could mark words in it, and it would be quoted
        steering = {i for i, (a, b) in enumerate(spans) if is_instruction(passage.at(a, b))}
        by_passage.append((passage, spans, steering))
        keep = []
        for i, (a, b) in enumerate(spans):
            text = passage.at(a, b)
            # passages of one document may overlap: each sentence is a candidate once
            if (passage.doc_id, a) in seen or len(text) < MIN_CHARS or i in steering:
                continue
            seen.add((passage.doc_id, a))
            keep.append(_Sentence(passage, i, a, b))
        if keep:
            vecs = vectors.of(collection, passage, [(s.start, s.end) for s in keep])
            for s, v in zip(keep, vecs @ qvec, strict=True):
                s.score = float(v) + passage.score
            found.extend(keep)
    if idf:
        total = sum(idf.values()) or 1.0
        texts = [s.passage.at(s.start, s.end) for s in found]
        for s, terms in zip(found, tokenize(texts), strict=True):
            present = set(terms)
            s.score += sum(w for t, w in idf.items() if t in present) / total
    found.sort(key=lambda s: -s.score)
    spans_of = {id(p): (spans, steering) for p, spans, steering in by_passage}
    windows: list[Window] = []
    # Passages of one document overlap: a sentence already in a window of another passage is
    # not read again (as a neighbour, or as a window of its own). Read twice, it would count
    # twice against the windows' joint "no answer", and its answer would be split in two.
    read_in: dict[tuple[str, int], int] = {}
    for s in found[:n]:
        spans, steering = spans_of[id(s.passage)]

        def free(i: int, s: _Sentence = s, spans: list[tuple[int, int]] = spans) -> bool:
            """Sentence ``i`` of the passage may be read in this window: it is one, and no
            window of another passage of the document holds it."""
            key = (s.passage.doc_id, spans[i][0]) if 0 <= i < len(spans) else None
            return key is not None and read_in.get(key, id(s.passage)) == id(s.passage)

        if not free(s.index):
            continue
        lo = s.index - 1 if s.index - 1 not in steering and free(s.index - 1) else s.index
        hi = s.index + 1 if s.index + 1 not in steering and free(s.index + 1) else s.index
        for i in range(lo, hi + 1):
            read_in[(s.passage.doc_id, spans[i][0])] = id(s.passage)
        w = _window(s.passage, spans[lo : hi + 1], s.score)
        merged = next(
            (
                o
                for o in windows
                if o.passage is w.passage and o.start <= w.end and w.start <= o.end
            ),
            None,
        )
        both = sorted(set(merged.sentences) | set(w.sentences)) if merged else []
        if merged is None or len(both) > MAX_SENTENCES:
            windows.append(w)
        else:
            windows[windows.index(merged)] = _window(w.passage, both, merged.score)
    return windows


def _window(passage: Passage, spans: list[tuple[int, int]], score: float) -> Window:
    start, end = spans[0][0], spans[-1][1]
    text = passage.at(start, end)
    return Window(passage, start, end, text, list(spans), score)


@dataclass
class Reading:
    """The reader's best span in a window: document offsets ``start:end``, its margin over
    "no answer", and its score (the margin with the window's retrieval evidence,
    ``Calibration.score``), by which readings are ranked and the answer decided."""

    window: Window
    start: int
    end: int
    margin: float
    score: float
    #: The score of its answer: of all the readings whose spans say the same words (``combine``).
    combined: float = float("-inf")

    @property
    def span(self) -> str:
        """The span's words."""
        return self.window.passage.at(self.start, self.end)

    def sentence(self) -> tuple[int, int]:
        """The sentence holding the span (from the sentence of its start to that of its end,
        should it cross a boundary), in document offsets."""
        first = self.window.sentence_at(self.start)
        last = self.window.sentence_at(max(self.start, self.end - 1))
        return first[0], last[1]

    def overlaps(self, other: Reading) -> bool:
        """Whether the two readings' sentences share any text of one document."""
        a, b = self.sentence()
        c, d = other.sentence()
        return self.window.passage.doc_id == other.window.passage.doc_id and a < d and c < b


#: Words an answer may have or lack and stay the same answer ("the Moon", "Moon"): articles.
_ARTICLES = frozenset({"a", "an", "the"})


def answer_key(text: str) -> str:
    """What makes two spans the same answer: their words, lower-cased, without punctuation,
    articles or a possessive's "'s" ("Benedict XVI" and "Benedict XVI's" are one; "Pope
    Benedict XVI" is not)."""
    text = text.lower().replace("’", "'").replace("'s ", " ")
    text = text[:-2] if text.endswith("'s") else text
    words = "".join(c if c.isalnum() or c.isspace() else " " for c in text).split()
    return " ".join(w for w in words if w not in _ARTICLES)


def answer_scores(
    keys: list[str], scores: list[float], docs: list[str] | None = None
) -> list[float]:
    """Each reading's answer's score, given each reading's ``answer_key`` and its own score:
    the log of the summed exponentials of the scores of the readings with its key, one reading
    per document (the best of its readings there; ``docs``: each reading's document, None: each
    reading a document of its own). An empty key, no words, is an answer of its own."""
    best: dict[tuple[str, str], float] = {}
    for k, (key, score) in enumerate(zip(keys, scores, strict=True)):
        at = (key or f"#{k}", docs[k] if docs is not None else f"#{k}")
        best[at] = max(best.get(at, -np.inf), score)
    total: dict[str, float] = {}
    for (key, _), score in best.items():
        total[key] = float(np.logaddexp(total.get(key, -np.inf), score))
    return [total[key or f"#{k}"] for k, key in enumerate(keys)]


def combine(readings: list[Reading]) -> list[Reading]:
    """The readings with their answers' scores, best answer first (within one, best reading
    first). Several articles often tell one story, and each window that names the answer is
    evidence for it: an answer's score is the log of its readings' summed exponentials of
    score (their probabilities under the reader's one softmax over all the windows, with
    the retrieval evidence as a prior), as open-domain readers add up a span's probability over
    the passages that hold it. Within one document, its readings of an answer count once (the
    best): a document names its own subject in many sentences, which is no more evidence that
    the subject answers the question. One reading alone keeps its own score."""
    keys = [answer_key(r.span) for r in readings]
    docs = [r.window.passage.doc_id for r in readings]
    totals = answer_scores(keys, [r.score for r in readings], docs)
    for r, total in zip(readings, totals, strict=True):
        r.combined = total
    return sorted(readings, key=lambda r: (-r.combined, -r.score))


def quoted(readings: list[Reading], threshold: float) -> list[Reading]:
    """The readings an answer quotes when it is given (``combine``'s order, best answer
    first): the best answer's best reading, and the best other reading on its own score when
    that score also clears ``threshold`` and it is another sentence. The second is often
    another answer, the one a reader would weigh beside the first (another reading of the same
    answer would only repeat it)."""
    if not readings:
        return []
    best = readings[0]
    other = max(readings[1:], key=lambda r: r.score, default=None)
    if other is not None and other.score >= threshold and not other.overlaps(best):
        return [best, other]
    return [best]
