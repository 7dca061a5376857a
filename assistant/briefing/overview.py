"""Overview questions answered from key points: "What are the main points?", "Summarise the
depot memo", "What is this collection about?".

Such a question has no one sentence that answers it, so the answer is the key points of the
collection, or of the documents the question names, chosen as a briefing chooses them
(``assistant/briefing/keypoints.py``: centrality, position, maximal marginal relevance), each
quoted verbatim and cited. The points come from the sources' own sentences even when a chat
model is configured: they are grounded by construction and take no model call.
"""

from __future__ import annotations

import re
import threading
import time
from functools import lru_cache
from typing import Any

import numpy as np
from cachetools import LRUCache

from assistant.answering.answer import Answer, Sentence
from assistant.answering.question import is_instruction, overview_target
from assistant.answering.retriever import matches
from assistant.briefing import keypoints
from assistant.briefing.sources import Citer, Material
from assistant.index.lexical import tokenize
from assistant.index.passages import DocumentSentence
from assistant.index.registry import DocumentRecord
from assistant.index.store import Index
from assistant.text.dates import day_number

#: Key-point choices kept per (collection, generation, documents); a new document invalidates.
CACHE_SIZE = 16
#: Words of a target that name no particular document ("these documents", "all of this").
_GENERIC = (
    "this these that those it all whole entire everything every the my our your please "
    "collection document documents doc docs file files material materials upload uploads "
    "source sources text texts page pages news"
)
#: Kinds of document a target may name with no other word ("the memo", "the articles").
_KINDS = (
    "article articles memo memos memorandum report reports paper papers story stories piece "
    "pieces note notes brief briefs briefing briefings post posts email emails letter letters"
)
_PARTS = re.compile(r",|;|\band\b|&|\bplus\b")


@lru_cache(maxsize=1)
def _generic() -> frozenset[str]:
    return frozenset(tokenize([_GENERIC])[0])


@lru_cache(maxsize=1)
def _kinds() -> frozenset[str]:
    return frozenset(tokenize([_KINDS])[0])


def _names(records: list[DocumentRecord]) -> dict[str, set[str]]:
    """The terms a question may name each document by: its title's and its file name's."""
    texts = []
    for record in records:
        name = re.split(r"[/\\]", record.source.rstrip("/\\"))[-1]
        name = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)
        texts.append(f"{record.title} {re.sub(r'[-_.]+', ' ', name)}")
    return {r.doc_id: set(t) for r, t in zip(records, tokenize(texts), strict=True)}


def named_documents(target: str, records: list[DocumentRecord]) -> list[DocumentRecord] | None:
    """The documents ``target`` names ("the depot memo", "the Kestrel article and the memo"):
    every document whose title or file name holds all the target's words; all of ``records``
    when it names none in particular ("these documents", ""); None when it names something no
    document's title or file name matches (then the question is not an overview question)."""
    parts = [
        [t for t in terms if t not in _generic()]
        for terms in tokenize(_PARTS.split(target) if target else [""])
    ]
    if not all(parts):
        return list(records)
    words = _names(records)
    chosen: set[str] = set()
    for terms in parts:
        specific = [t for t in terms if t not in _kinds()]
        # "the memo" alone names the memos, if any document calls itself one.
        wanted = specific or terms
        found = {r.doc_id for r in records if all(t in words[r.doc_id] for t in wanted)}
        if not found and not specific:
            return list(records)
        if not found:
            return None
        chosen |= found
    return [r for r in records if r.doc_id in chosen]


def _allowed(record: DocumentRecord, filters: dict[str, Any] | None) -> bool:
    """Whether a document passes the question's filters, judged as search judges its chunks."""
    if not filters:
        return True
    meta = {"source": record.source, "doc_id": record.doc_id, "date_ts": day_number(record.date)}
    return matches(meta, filters)


class Overviews:
    """Answers overview questions over the collections of one store."""

    def __init__(self, index: Index) -> None:
        self.index = index
        #: Key-point spans by (collection, generation, documents); under ``_cache_lock`` only.
        self._cache: LRUCache[tuple[str, int, tuple[str, ...]], list[tuple[str, int, int]]] = (
            LRUCache(maxsize=CACHE_SIZE)
        )
        self._cache_lock = threading.Lock()

    def answer(
        self, question: str, collection: str, filters: dict[str, Any] | None = None
    ) -> Answer | None:
        """The key points of what ``question`` asks to be summarised, each a verbatim sentence
        with its marker and citation; None when it is not an overview question or the
        collection (after ``filters``) has no document it names."""
        target = overview_target(question)
        if target is None:
            return None
        started = time.perf_counter()
        registry = self.index.registry
        listed = [r for r in registry.list(collection) if _allowed(r, filters)]
        named = named_documents(target, listed) if listed else None
        if not named:
            return None
        key = (collection, registry.generation(collection), tuple(r.doc_id for r in named))
        with self._cache_lock:
            spans = self._cache.get(key)
        if spans is None:
            read = [registry.get(collection, r.doc_id) for r in named]
            records = [r for r in read if r is not None and r.text.strip()]
            spans = self._key_points(collection, records) if records else []
            with self._cache_lock:
                self._cache[key] = spans
        # Only the cited documents' texts are read again: a large collection's overview,
        # once chosen, costs a few reads.
        again = {d: registry.get(collection, d) for d in dict.fromkeys(d for d, _, _ in spans)}
        cited = {d: r for d, r in again.items() if r is not None}
        if not spans or len(cited) < len(again):
            return None
        answer = _cited(question, spans, cited)
        answer.search_query = question
        elapsed = round((time.perf_counter() - started) * 1000.0, 1)
        answer.timings = {"overview_ms": elapsed, "total_ms": elapsed}
        return answer

    def _key_points(
        self, collection: str, records: list[DocumentRecord]
    ) -> list[tuple[str, int, int]]:
        """(doc_id, start, end) of the key points, in reading order: the briefing's choice
        (``Briefer._build`` without a focus), or, where no sentence reads on its own, the
        first readable sentences."""
        material = Material(collection, records, self.index.registry, self.index.embedder)
        if not material.sentences:
            return []
        scores = keypoints.importance(material)
        usable = np.array([keypoints.usable(s) for s in material.sentences], dtype=bool)
        limit = keypoints.point_count(len(records))
        per_document = -(-limit // len(records)) + 1
        chosen = keypoints.select(material, scores, usable, limit, per_document=per_document)
        if not chosen:
            # Short notes and lists: any sentence of a few words that is not an instruction.
            readable = np.array(
                [s.words >= 3 and not is_instruction(s.text) for s in material.sentences]
            )
            chosen = keypoints.select(material, scores, readable, limit, per_document=per_document)
        picked = sorted((material.sentences[i] for i in chosen), key=_reading_order)
        return [(s.doc.doc_id, s.start, s.end) for s in picked]


def _reading_order(s: DocumentSentence) -> tuple[int, int]:
    return (s.doc_rank, s.position)


def _cited(
    question: str, spans: list[tuple[str, int, int]], records: dict[str, DocumentRecord]
) -> Answer:
    citer = Citer()
    sentences = []
    for doc_id, start, end in spans:
        record = records[doc_id]
        n = citer.cite(record, start, end)
        sentences.append(Sentence(text=record.text[start:end], citations=[n], supported=True))
    text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
    return Answer(question=question, text=text, citations=citer.citations, sentences=sentences)
