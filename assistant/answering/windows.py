"""What the reader reads: windows of a sentence and its neighbours, the best few of the
retrieved passages' sentences.

Reading every sentence of every retrieved passage with the model would cost seconds, so a
cheap first pass ranks them by a weighted sum of what is known of each without the model
(``FEATURES``): the cosine of the sentence's vector stored at ingest
(``Embedder.embed_with_spans``) with the question's, its passage's retrieval score and cosine,
the share of the question's key terms it holds, each term weighted by its rarity in the
collection (``LexicalIndex.weights``), that share with its neighbours' words too, and its
neighbours' best cosine. The weights (``FirstPass``) are fitted on news the benchmarks never
read (``train/first_pass.py``, ``first_pass.json``). The best ``n`` sentences, each with the
sentence before and after it in its passage (a sentence that says "he" needs the one naming
him), are the windows; windows that would overlap are merged, so no text is read twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

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
    cosine: float = 0.0
    features: dict[str, float] = field(default_factory=dict)


#: What the first pass knows of a sentence: its cosine with the question, its passage's
#: retrieval score and cosine, its share (by rarity) of the question's key terms, that share
#: with its neighbours' words too (a sentence that says "he" leans on the one naming him), and
#: its neighbours' best cosine.
FEATURES = ("cosine", "passage", "dense", "terms", "window_terms", "neighbour_cosine")
FIRST_PASS = Path(__file__).with_name("first_pass.json")


@dataclass(frozen=True)
class FirstPass:
    """How the first pass weighs a sentence's features into its score: fitted to rank first
    the sentences that hold the answer, on news weeks the benchmarks never read
    (``train/first_pass.py``, ``first_pass.json``); without the file, cosine, passage score
    and key-term share added with equal weights."""

    weights: tuple[tuple[str, float], ...] = (("cosine", 1.0), ("passage", 1.0), ("terms", 1.0))

    @classmethod
    def shipped(cls, path: Path = FIRST_PASS) -> FirstPass:
        """The fitted weights in ``path`` (read once), else the defaults."""
        return _first_pass(path)

    def score(self, features: dict[str, float]) -> float:
        return sum(w * features.get(f, 0.0) for f, w in self.weights)


@cache
def _first_pass(path: Path) -> FirstPass:
    if not path.exists():
        return FirstPass()
    fitted = json.loads(path.read_text())["weights"]
    return FirstPass(tuple((f, float(fitted[f])) for f in FEATURES if f in fitted))


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
        missing = [
            passage.text[a - passage.start : b - passage.start]
            for (a, b), v in zip(spans, found, strict=True)
            if v is None
        ]
        fresh = iter(self.embed(missing)) if missing else iter(())
        vectors = [next(fresh) if v is None else v for v in found]
        return np.stack(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)


def candidates(
    passages: list[Passage],
    qvec: np.ndarray,
    vectors: SentenceVectors,
    collection: str,
    idf: dict[str, float] | None = None,
) -> tuple[list[_Sentence], dict[int, tuple[list[tuple[int, int]], set[int]]]]:
    """Every sentence of ``passages`` that may be read, each once, with its features
    (``FEATURES``), and each passage's sentence spans and the ones never read (by ``id``).

    ``idf``: the question's key terms with their weights; a sentence's share of them (by
    weight) is its ``terms`` feature, that of it with its neighbours its ``window_terms``."""
    found: list[_Sentence] = []
    spans_of: dict[int, tuple[list[tuple[int, int]], set[int]]] = {}
    seen: set[tuple[str, int]] = set()
    total = sum((idf or {}).values()) or 1.0
    for passage in passages:
        spans = [(passage.start + a, passage.start + b) for a, b in sentence_spans(passage.text)]
        texts = [passage.text[a - passage.start : b - passage.start] for a, b in spans]
        # a sentence that reads as an instruction to an assistant is never read, not even as
        # a neighbour: the reader could mark words in it, and it would be quoted
        steering = {i for i, text in enumerate(texts) if is_instruction(text)}
        spans_of[id(passage)] = (spans, steering)
        keep = [
            i
            for i, (a, _) in enumerate(spans)
            # passages of one document may overlap: each sentence is a candidate once
            if (passage.doc_id, a) not in seen and len(texts[i]) >= MIN_CHARS and i not in steering
        ]
        if not keep:
            continue
        seen.update((passage.doc_id, spans[i][0]) for i in keep)
        # the kept sentences' cosines and their neighbours' (a short line is no candidate but
        # may be a neighbour)
        near_keep = sorted(
            {k for i in keep for k in (i - 1, i, i + 1) if 0 <= k < len(spans)} - steering
        )
        cos = dict(
            zip(
                near_keep,
                (vectors.of(collection, passage, [spans[k] for k in near_keep]) @ qvec).tolist(),
                strict=True,
            )
        )
        words = [set(t) for t in tokenize(texts)] if idf else [set() for _ in texts]

        def share(present: set[str]) -> float:
            return sum(w for t, w in (idf or {}).items() if t in present) / total

        for i in keep:
            near = [k for k in (i - 1, i + 1) if 0 <= k < len(spans) and k not in steering]
            s = _Sentence(passage, i, *spans[i], cosine=cos[i])
            s.features = {
                "cosine": s.cosine,
                "passage": passage.score,
                "dense": passage.dense or 0.0,
                "terms": share(words[i]),
                "window_terms": share(words[i].union(*(words[k] for k in near))),
                "neighbour_cosine": max((cos[k] for k in near), default=0.0),
            }
            found.append(s)
    return found, spans_of


def select(
    passages: list[Passage],
    qvec: np.ndarray,
    vectors: SentenceVectors,
    collection: str,
    n: int,
    idf: dict[str, float] | None = None,
    first_pass: FirstPass | None = None,
) -> list[Window]:
    """The windows to read, best first: around the ``n`` best sentences of ``passages`` by the
    first pass's score of their features (``FirstPass``; ``idf`` as for ``candidates``)."""
    weigh = first_pass or FirstPass.shipped()
    found, spans_of = candidates(passages, qvec, vectors, collection, idf)
    for s in found:
        s.score = weigh.score(s.features)
    found.sort(key=lambda s: -s.score)
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
    text = passage.text[start - passage.start : end - passage.start]
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
    keys = [
        answer_key(
            r.window.passage.text[r.start - r.window.passage.start : r.end - r.window.passage.start]
        )
        for r in readings
    ]
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
