"""``Assistant``: the one object that every face (web chat, HTTP API, CLI, widget) calls."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.index.registry import DocumentRecord
from assistant.index.store import Index
from assistant.passages import Passage
from assistant.settings import Settings, check_collection_name, get_settings


class Assistant:
    """Documents in, cited passages out, over one store described by ``Settings``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    @cached_property
    def index(self) -> Index:
        """The store (Chroma + document registry + embedder), opened on first use."""
        return Index(self.settings)

    @cached_property
    def _ingestor(self) -> Any:
        from ingest.pipeline import Ingestor

        return Ingestor(self.index)

    def _collection(self, collection: str | None) -> str:
        return check_collection_name(collection or self.settings.collection)

    # --- documents -----------------------------------------------------------------------

    def ingest(
        self,
        sources: Iterable[str | Path],
        collection: str | None = None,
        prune: bool = False,
        **listeners: Any,
    ) -> Any:
        """Ingest files, folders and URLs; returns an ``ingest.pipeline.IngestReport``."""
        return self._ingestor.ingest(
            sources, collection=self._collection(collection), prune=prune, **listeners
        )

    def documents(self, collection: str | None = None) -> list[DocumentRecord]:
        """The documents of a collection (without their texts), newest first."""
        return self.index.registry.list(self._collection(collection))

    def document(self, doc_id: str, collection: str | None = None) -> DocumentRecord | None:
        """One document with its full cleaned text, or None."""
        return self.index.registry.get(self._collection(collection), doc_id)

    def remove(self, doc_id_or_source: str, collection: str | None = None) -> list[DocumentRecord]:
        """Remove a document by id, path or URL; returns the removed records (empty if none)."""
        return self._ingestor.remove(doc_id_or_source, collection=self._collection(collection))

    def collections(self) -> dict[str, int]:
        """Collection name -> number of documents."""
        counts = self.index.registry.collections()
        return {name: counts.get(name, 0) for name in self.index.collection_names()}

    # --- retrieval -----------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        collection: str | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[Passage]:
        """The ``k`` passages most similar in meaning to ``query``, best first."""
        query = " ".join(query.split())
        if not query:
            raise ValueError("the query is empty")
        vector = self.index.embedder.embed_one(query)
        hits = self.index.search(self._collection(collection), vector, k, where=where)
        return [Passage.from_chunk(h.text, h.metadata, h.similarity) for h in hits]
