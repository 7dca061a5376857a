"""Lexical retrieval: BM25 (bm25s, English stop words, Snowball stemming) over live chunks.

One ``LexicalIndex`` per collection, built from the chunks in the store (embedded or server
Chroma alike) and rebuilt whenever the registry's generation for the collection changes, so
it follows every add, replace, remove and prune without being told.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from functools import lru_cache
from typing import Any

import numpy as np

from assistant.index.store import Hit, Index


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


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
            if chunks:
                terms = tokenize([_indexed_text(c) for c in chunks])
                for chunk_terms in terms:
                    df.update(set(chunk_terms))
                bm25 = bm25s.BM25()
                bm25.index(terms, show_progress=False)
            self.chunks, self._bm25, self._df = chunks, bm25, df
            self.position = {c.id: i for i, c in enumerate(chunks)}
            self.generation = current

    def idf(self, term: str) -> float:
        """How rare a (stemmed) term is across the collection's chunks; rare terms weigh more."""
        n = max(len(self.chunks), 1)
        df = self._df.get(term, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def weights(self, terms: list[str]) -> dict[str, float]:
        """How much each question term counts when matching sentences: its idf.

        A term that no chunk contains gets the weight of the most common term among the others:
        in a small collection an absent term is more often a paraphrase ("use" for "utilized")
        than the crux of the question, and an unknown rarity must not dominate.
        """
        seen = {t: self.idf(t) for t in terms if self._df.get(t)}
        fallback = min(seen.values()) if seen else 1.0
        return {t: seen.get(t, fallback) for t in terms}

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every chunk (aligned with ``chunks``) for ``query``; 0 where masked out."""
        self.refresh()
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        terms = [t for t in tokenize([query])[0] if t in self._bm25.vocab_dict]
        if not terms:
            return np.zeros(len(self.chunks), dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
        if mask is not None:
            scores = scores * mask
        return scores


def _indexed_text(chunk: Hit) -> str:
    """What BM25 sees of a chunk: its title, then its text (as the dense model does)."""
    title = str(chunk.metadata.get("title") or "")
    return chunk.text if chunk.text.startswith(title) else f"{title}\n{chunk.text}"
