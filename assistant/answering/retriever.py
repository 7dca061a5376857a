"""Hybrid retrieval: dense (Chroma) and lexical (BM25) evidence fused into one ranking.

For a question, the nearest chunks by meaning and the best chunks by BM25 are pooled; every
pooled chunk gets both scores (its stored vector is compared with the question's, and the BM25
score vector covers every chunk). The two are mixed on fixed scales (``fuse``), ``dense_weight``
to the dense side: the cosine similarity, and the BM25 score's share of the question's own
ceiling (the score a chunk holding every term of the question would approach). A chunk's fused
score therefore depends on the question, the chunk and the collection's term statistics only,
never on which other chunks happen to be in the pool: an unrelated document moves it only as
far as it changes how rare a word is. (Z-scores over the pool, used before, moved with every
outlier: one unrelated note could change which chunk ranked first.) A per-document cap keeps
one long document from filling every slot. Filters (source, document, date range) apply to
both sides.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from assistant.index.lexical import LexicalIndex
from assistant.index.passages import Passage
from assistant.index.store import Hit, Index


@dataclass
class RetrievalConfig:
    """How the two kinds of evidence are pooled and mixed (tuned in ``bench/retrieval.py``)."""

    dense_k: int = 50
    lexical_k: int = 50
    dense_weight: float = 0.5
    per_document: int = 3


@dataclass
class Scored:
    """A pooled chunk with its evidence."""

    hit: Hit
    dense: float
    lexical: float
    fused: float = 0.0


def _day(value: object) -> int | None:
    if value in (None, ""):
        return None
    return (date.fromisoformat(str(value)[:10]) - date(1970, 1, 1)).days


def chroma_where(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chroma ``where`` for filters: ``source``, ``doc_id`` (one or a list), ``date_from/_to``."""
    if not filters:
        return None
    clauses: list[dict[str, Any]] = []
    for key in ("source", "doc_id"):
        value = filters.get(key)
        if isinstance(value, str):
            clauses.append({key: value})
        elif value:
            clauses.append({key: {"$in": list(value)}})
    if (start := _day(filters.get("date_from"))) is not None:
        clauses.append({"date_ts": {"$gte": start}})
    if (end := _day(filters.get("date_to"))) is not None:
        clauses.append({"date_ts": {"$lte": end}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def matches(meta: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether a chunk's (or a document's) metadata passes ``filters``: ``source``, ``doc_id``
    (one or a list), and ``date_from``/``date_to`` against its ``date_ts`` day number."""
    for key in ("source", "doc_id"):
        value = filters.get(key)
        if value and meta.get(key) not in ([value] if isinstance(value, str) else value):
            return False
    day = meta.get("date_ts")
    start, end = _day(filters.get("date_from")), _day(filters.get("date_to"))
    if start is not None and (day is None or day < start):
        return False
    return not (end is not None and (day is None or day > end))


def fuse(dense: np.ndarray, lexical: np.ndarray, ceiling: float, dense_weight: float) -> np.ndarray:
    """Fused scores (0-1) of chunks from their cosine similarities and BM25 scores for one
    question: ``dense_weight`` times the squared cosine plus the rest times the square root of
    the BM25 score's share of the question's ``ceiling`` (``LexicalIndex.ceiling``).

    Each chunk's value depends on its own two scores and the question's ceiling only, so it is
    the same whatever else is pooled with it. The curves were chosen on SciFact
    (``bench/retrieval.py``): cosines of related chunks bunch together, and squaring spreads
    them; the root gives a chunk holding half of the question's words more than half the
    credit of one holding all of them.
    """
    share = np.clip(lexical / ceiling, 0.0, 1.0) if ceiling > 0 else np.zeros_like(lexical)
    return dense_weight * np.clip(dense, 0.0, 1.0) ** 2 + (1 - dense_weight) * np.sqrt(share)


class Retriever:
    """Hybrid search over the collections of an ``Index``."""

    def __init__(self, index: Index, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.config = config or RetrievalConfig()
        self._lexical: dict[str, LexicalIndex] = {}
        self._lock = threading.Lock()

    def lexical(self, collection: str) -> LexicalIndex:
        """The BM25 index of a collection (kept in step with the registry)."""
        with self._lock:
            if collection not in self._lexical:
                self._lexical[collection] = LexicalIndex(self.index, collection)
            return self._lexical[collection]

    def pool(
        self,
        query: str,
        vector: np.ndarray,
        collection: str,
        filters: dict[str, Any] | None = None,
        mode: str = "hybrid",
    ) -> list[Scored]:
        """Candidate chunks with dense, lexical and fused scores, best first (no cap)."""
        cfg = self.config
        lexical = self.lexical(collection)
        pool: dict[str, Scored] = {}
        if mode in ("hybrid", "dense"):
            for hit in self.index.search(
                collection, vector, cfg.dense_k, where=chroma_where(filters)
            ):
                pool[hit.id] = Scored(hit=hit, dense=hit.similarity, lexical=0.0)
        scores = np.zeros(0, dtype=np.float32)
        if mode in ("hybrid", "lexical"):
            mask = None
            if filters:
                lexical.refresh()  # the chunks the mask is aligned with, as scores() sees them
                mask = np.array([matches(c.metadata, filters) for c in lexical.chunks], np.float32)
            scores = lexical.scores(query, mask)
            if len(scores):
                top = np.argsort(-scores)[: cfg.lexical_k]
                for i in top:
                    if scores[i] <= 0:
                        break
                    chunk = lexical.chunks[i]
                    if chunk.id not in pool:
                        pool[chunk.id] = Scored(hit=chunk, dense=0.0, lexical=float(scores[i]))
        if not pool:
            return []
        items = list(pool.values())
        if len(scores):
            for item in items:
                pos = lexical.position.get(item.hit.id)
                item.lexical = float(scores[pos]) if pos is not None else 0.0
        if mode == "hybrid":
            missing = [s.hit.id for s in items if s.dense == 0.0]
            for cid, vec in self.index.vectors(collection, missing).items():
                pool[cid].dense = float(vec @ vector)
        dense = np.array([s.dense for s in items])
        lex = np.array([s.lexical for s in items])
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lex
        else:
            fused = fuse(dense, lex, lexical.ceiling(query), cfg.dense_weight)
        for item, value in zip(items, fused, strict=True):
            item.fused = float(value)
        items.sort(key=lambda s: -s.fused)
        return items

    def retrieve(
        self,
        query: str,
        vector: np.ndarray,
        collection: str,
        k: int = 5,
        filters: dict[str, Any] | None = None,
        mode: str = "hybrid",
        per_document: int | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages, at most ``per_document`` (default: the configured cap)
        from any one document."""
        cap = per_document or self.config.per_document
        taken: dict[str, int] = {}
        out: list[Passage] = []
        for item in self.pool(query, vector, collection, filters, mode):
            doc = item.hit.metadata["doc_id"]
            if taken.get(doc, 0) >= cap:
                continue
            taken[doc] = taken.get(doc, 0) + 1
            passage = Passage.from_chunk(item.hit.text, item.hit.metadata, item.fused)
            passage.dense, passage.lexical = round(item.dense, 4), round(item.lexical, 4)
            out.append(passage)
            if len(out) >= k:
                break
        return out
