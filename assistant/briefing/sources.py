"""The material of a briefing: every sentence of every document of a collection, with its
vector, and the citations the briefing hands out.

DocumentSentence vectors come from the registry, where ingest stored them (pooled from each chunk's
model pass); a sentence without one is embedded now. Citations are numbered in order of first
use and always quote ``document_text[start:end]``.
"""

from __future__ import annotations

import numpy as np

from assistant.answering.answer import Citation
from assistant.index.embeddings import Embedder
from assistant.index.passages import DocumentSentence, location_at
from assistant.index.registry import DocumentRecord, Registry
from assistant.text.sentences import sentence_spans

#: Documents larger than this many sentences are read in their first part only; in a large
#: collection each document gets its share of ``MAX_SENTENCES`` (at least 50 sentences).
MAX_SENTENCES_PER_DOCUMENT = 2000
MAX_SENTENCES = 60_000


class Material:
    """The sentences of a set of documents; ``vectors[i]`` is the unit vector of
    ``sentences[i]``."""

    def __init__(
        self, collection: str, records: list[DocumentRecord], registry: Registry, embedder: Embedder
    ) -> None:
        self.collection = collection
        self.records = records
        self.sentences: list[DocumentSentence] = []
        stored: list[np.ndarray | None] = []
        share = max(50, MAX_SENTENCES // max(len(records), 1))
        per_document = min(MAX_SENTENCES_PER_DOCUMENT, share)
        for rank, record in enumerate(records):
            spans = sentence_spans(record.text)[:per_document]
            vectors = registry.sentence_vectors(
                collection, record.doc_id, record.content_hash, 0, len(record.text) + 1
            )
            for position, (a, b) in enumerate(spans):
                self.sentences.append(
                    DocumentSentence(record, rank, position, a, b, record.text[a:b])
                )
                stored.append(vectors.get((a, b)))
        missing = [i for i, v in enumerate(stored) if v is None]
        if missing:
            fresh = embedder.embed([self.sentences[i].text for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                stored[i] = vector
        dim = embedder_dim(stored)
        matrix = np.zeros((len(stored), dim), dtype=np.float32)
        for i, vector in enumerate(stored):
            matrix[i] = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.vectors = matrix / np.maximum(norms, 1e-9)

    def by_document(self) -> dict[str, list[int]]:
        """DocumentSentence indexes of each document, in order."""
        out: dict[str, list[int]] = {}
        for i, s in enumerate(self.sentences):
            out.setdefault(s.doc.doc_id, []).append(i)
        return out


def embedder_dim(vectors: list[np.ndarray | None]) -> int:
    for v in vectors:
        if v is not None:
            return int(np.asarray(v).shape[-1])
    return 384


class Citer:
    """Hands out citations, one per distinct span, numbered in order of first use."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._seen: dict[tuple[str, int, int], int] = {}

    def cite(self, doc: DocumentRecord, start: int, end: int, score: float = 1.0) -> int:
        """The number of the citation quoting ``doc.text[start:end]``."""
        key = (doc.doc_id, start, end)
        if key not in self._seen:
            n = len(self.citations) + 1
            self._seen[key] = n
            self.citations.append(
                Citation(
                    n=n,
                    doc_id=doc.doc_id,
                    title=doc.title,
                    source=doc.source,
                    location=location_at(doc.text, doc.layout, start, doc.title),
                    quote=doc.text[start:end],
                    start=start,
                    end=end,
                    score=round(float(score), 4),
                    supported=True,
                )
            )
        return self._seen[key]

    def sentence(self, sentence: DocumentSentence, score: float = 1.0) -> list[int]:
        """``[n]`` for a citation of the whole sentence."""
        return [self.cite(sentence.doc, sentence.start, sentence.end, score)]
