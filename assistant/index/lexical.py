"""Lexical retrieval: BM25 (bm25s, English stop words, Snowball stemming) over live chunks.

One ``LexicalIndex`` per collection, built from the chunks in the store (embedded or server
Chroma alike) and rebuilt whenever the registry's generation for the collection changes, so
it follows every add, replace, remove and prune without being told.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy as np

from assistant.index.store import Hit, Index


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


#: Prepositions and conjunctions the NLTK list lacks: in "Which company returned to profit
#: despite sanctions?" the word "despite" was the question's rarest term, and its absence from
#: the answering passage read as evidence that the passage does not answer.
FUNCTION_WORDS = frozenset(
    "despite although though amid amidst among amongst via upon toward towards across along "
    "per regarding concerning according whereas unlike besides beyond within".split()
)


@lru_cache(maxsize=1)
def query_stop() -> frozenset[str]:
    """Words that carry no key content in a query or a question (``question.analyse``):
    NLTK's English stop words and ``FUNCTION_WORDS``, as written and as stemmed. The index
    keeps them (BM25 gives them little weight in a large collection), but in a small one
    "which" or "did" can be rarer than the question's subject and decide the ranking. Leaving
    them out of the query costs nothing on SciFact (``bench/retrieval.py``: BM25 alone 0.679
    -> 0.684 nDCG@10)."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    words = frozenset(STOPWORDS_EN_PLUS) | FUNCTION_WORDS
    return words | frozenset(tokenize([" ".join(sorted(words))])[0])


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25 terms of each text: lower-cased words, English stop words out, stemmed."""
    import bm25s

    return bm25s.tokenize(
        texts,
        lower=True,
        stopwords="en",
        stemmer=_stemmer(),
        return_ids=False,
        show_progress=False,
    )


class LexicalIndex:
    """BM25 scores for every live chunk of one collection."""

    def __init__(self, index: Index, collection: str) -> None:
        self.index = index
        self.collection = collection
        self.generation = -1
        self.chunks: list[Hit] = []
        self.position: dict[str, int] = {}
        self._bm25: Any = None
        self._df: Counter[str] = Counter()
        #: Per document: its number of chunks, and in how many of them each term occurs.
        self._doc_chunks: Counter[str] = Counter()
        self._doc_df: dict[str, Counter[str]] = {}
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Rebuild if the collection changed since the last build."""
        current = self.index.registry.generation(self.collection)
        if current == self.generation:
            return
        with self._lock:
            current = self.index.registry.generation(self.collection)
            if current == self.generation:
                return
            import bm25s

            chunks = self.index.live_chunks(self.collection)
            bm25 = None
            df: Counter[str] = Counter()
            doc_chunks: Counter[str] = Counter()
            doc_df: dict[str, Counter[str]] = {}
            if chunks:
                terms = tokenize([_indexed_text(c) for c in chunks])
                for chunk, chunk_terms in zip(chunks, terms, strict=True):
                    unique = set(chunk_terms)
                    df.update(unique)
                    doc = str(chunk.metadata.get("doc_id"))
                    doc_chunks[doc] += 1
                    doc_df.setdefault(doc, Counter()).update(unique)
                bm25 = bm25s.BM25()
                bm25.index(terms, show_progress=False)
            self.chunks, self._bm25, self._df = chunks, bm25, df
            self._doc_chunks, self._doc_df = doc_chunks, doc_df
            self.position = {c.id: i for i, c in enumerate(chunks)}
            self.generation = current

    def idf(self, term: str) -> float:
        """How rare a (stemmed) term is across the collection's chunks; rare terms weigh more."""
        return _idf(len(self.chunks), self._df.get(term, 0))

    def weights(self, terms: list[str], documents: Iterable[str] | None = None) -> dict[str, float]:
        """How much each question term counts when matching sentences: its idf.

        With ``documents`` (ids), rarity is counted among those documents' chunks only, for
        choosing a sentence among them: a word the answering document says once singles out
        its sentence however common it is in unrelated documents, and a name the document
        repeats in every paragraph does not, however rare elsewhere. So documents that are
        not among ``documents`` cannot change the weights. Without, over the whole collection.

        A term that no chunk counted contains gets the weight of the most common term among the
        others: in a small collection an absent term is more often a paraphrase ("use" for
        "utilized") than the crux of the question, and an unknown rarity must not dominate.
        """
        self.refresh()
        wanted = sorted({str(d) for d in documents or ()} & self._doc_df.keys())
        if wanted:
            n = sum(self._doc_chunks[d] for d in wanted)
            df = {t: sum(self._doc_df[d].get(t, 0) for d in wanted) for t in terms}
        else:
            n, df = len(self.chunks), {t: self._df.get(t, 0) for t in terms}
        seen = {t: _idf(n, df[t]) for t in terms if df[t]}
        fallback = min(seen.values()) if seen else 1.0
        return {t: seen.get(t, fallback) for t in terms}

    def terms(self, query: str) -> list[str]:
        """The question's BM25 terms that some chunk of the collection contains (repeats kept,
        as BM25 counts them), without the words questions are built from ("which", "did")."""
        self.refresh()
        if self._bm25 is None:
            return []
        stop = query_stop()
        return [t for t in tokenize([query])[0] if t in self._bm25.vocab_dict and t not in stop]

    def ceiling(self, query: str) -> float:
        """The BM25 score a chunk holding every term of ``query`` would approach: the sum of the
        terms' idf, since BM25's term-frequency part stays below 1. A score divided by it is
        the share of the question's term weight a chunk holds, on a 0-1 scale that no other
        chunk's score moves. Terms no chunk contains count too (as the rarest), so a chunk
        matching only the common half of a question is not scored as a full match, and a
        document that brings such a term into the collection changes the scale only a little;
        0 for an empty collection or a question of stop words only."""
        self.refresh()
        if self._bm25 is None:
            return 0.0
        stop = query_stop()
        return float(sum(self.idf(t) for t in tokenize([query])[0] if t not in stop))

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every chunk (aligned with ``chunks``) for ``query``; 0 where masked out."""
        self.refresh()
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        terms = self.terms(query)
        if not terms:
            return np.zeros(len(self.chunks), dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
        if mask is not None:
            scores = scores * mask
        return scores


def _idf(chunks: int, df: int) -> float:
    """BM25's idf (as bm25s computes it) of a term found in ``df`` of ``chunks`` chunks."""
    n = max(chunks, 1)
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _indexed_text(chunk: Hit) -> str:
    """What BM25 sees of a chunk: its title, then its text (as the dense model does)."""
    title = str(chunk.metadata.get("title") or "")
    return chunk.text if chunk.text.startswith(title) else f"{title}\n{chunk.text}"
