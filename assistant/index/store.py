"""The vector store: Chroma, embedded under the data dir or reached as a server.

``open_index(settings)`` is the one place that decides which Chroma to talk to. Everything
above it sees an ``Index``: the Chroma client, the document registry and the embedder, plus
the few chunk operations ingest and search need. Each user collection is one Chroma collection
(cosine space, our embedding function always attached) named ``brief_<name>``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from assistant.errors import StoreUnavailable
from assistant.index.embeddings import Embedder, get_embedder
from assistant.index.registry import JournalEntry, Registry
from assistant.settings import Settings, check_collection_name

# Chroma reads these at import time; telemetry must never leave the machine.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("CHROMA_TELEMETRY_IMPL", "none")

CHROMA_PREFIX = "brief_"


@dataclass
class Hit:
    """One chunk returned by a vector search."""

    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


def make_client(settings: Settings) -> Any:
    """A Chroma client: ``HttpClient`` with ``BRIEF_CHROMA_HOST`` set, else ``PersistentClient``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:  # uses_chroma_server, written so that the host narrows to str
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:  # connection refused, DNS, TLS: all mean the same to a user
            raise StoreUnavailable(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
                f" ({exc})"
            ) from exc
        return client
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class Index:
    """Chunks in Chroma, documents in the registry, and the embedder that links them."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(
            dtype=settings.embed_dtype,
            batch_tokens=settings.embed_batch_tokens,
            workers=settings.embed_workers,
        )
        self.registry = Registry(settings.registry_path)
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()

    @cached_property
    def client(self) -> Any:
        """The Chroma client, connected on first use (listing documents does not need it)."""
        return make_client(self.settings)

    # --- collections ---------------------------------------------------------------------

    def chroma_collection(self, name: str) -> Any:
        """The Chroma collection behind a user collection, created on first use: for writing
        only (readers use ``_existing``, so that asking a collection never creates it)."""
        from assistant.index.adapters import MiniLMChromaFunction

        check_collection_name(name)
        with self._lock:
            if name not in self._collections:
                self._collections[name] = self.client.get_or_create_collection(
                    name=CHROMA_PREFIX + name,
                    embedding_function=MiniLMChromaFunction(self.embedder),
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"created_by": "briefing-assistant"},
                )
            return self._collections[name]

    def _existing(self, name: str) -> Any | None:
        """The Chroma collection behind a user collection, or None if it has none yet."""
        from chromadb.errors import NotFoundError

        from assistant.index.adapters import MiniLMChromaFunction

        check_collection_name(name)
        with self._lock:
            if name not in self._collections:
                try:
                    self._collections[name] = self.client.get_collection(
                        name=CHROMA_PREFIX + name,
                        embedding_function=MiniLMChromaFunction(self.embedder),
                    )
                except NotFoundError:
                    return None  # not remembered: a later write creates it
            return self._collections[name]

    def collection_names(self) -> list[str]:
        """User collections that exist in the store or hold documents in the registry."""
        names = set(self.registry.collections())
        for col in self.client.list_collections():
            col_name = col if isinstance(col, str) else col.name
            if col_name.startswith(CHROMA_PREFIX):
                names.add(col_name[len(CHROMA_PREFIX) :])
        return sorted(names)

    # --- chunks --------------------------------------------------------------------------

    def write_chunks(
        self,
        collection: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        """Upsert chunks with their vectors (upsert: a retried write never duplicates)."""
        col = self.chroma_collection(collection)
        step = max(1, min(5000, self.client.get_max_batch_size()))
        for i in range(0, len(ids), step):
            col.upsert(
                ids=list(ids[i : i + step]),
                embeddings=vectors[i : i + step],
                documents=list(texts[i : i + step]),
                metadatas=list(metadatas[i : i + step]),
            )

    def drop(self, entries: Sequence[JournalEntry]) -> None:
        """Delete the chunk sets named by journal entries, then clear the entries."""
        for entry in entries:
            col = self._existing(entry.collection)
            if col is not None:  # none: nothing of it was ever stored
                col.delete(where={"$and": [{"doc_id": entry.doc_id}, {"hash": entry.content_hash}]})
        if entries:
            self.registry.settle(list(entries))

    def recover(self, collection: str | None = None) -> int:
        """Finish what an interrupted process left: delete stray chunk sets; returns how many."""
        entries = self.registry.pending(collection)
        stray = []
        live: dict[str, dict[str, str]] = {}
        for entry in entries:
            hashes = live.setdefault(entry.collection, self.registry.hashes(entry.collection))
            if entry.action == "add" and hashes.get(entry.doc_id) == entry.content_hash:
                # A rewrite of the live version: its chunks are the live ones; keep them.
                self.registry.settle([entry])
                continue
            stray.append(entry)
        self.drop(stray)
        return len(stray)

    def count(self, collection: str) -> int:
        """Number of chunks stored for a collection (live or not)."""
        col = self._existing(collection)
        return col.count() if col is not None else 0

    def chunk_ids(self, collection: str, doc_id: str) -> list[str]:
        """Ids of every chunk stored for a document, of any version."""
        col = self._existing(collection)
        if col is None:
            return []
        got = col.get(where={"doc_id": doc_id}, include=[])
        return list(got["ids"])

    def live_chunks(self, collection: str, page: int = 5000) -> list[Hit]:
        """Every live chunk of a collection, with text and metadata (similarity 0)."""
        col = self._existing(collection)
        if col is None:
            return []
        live = self.registry.hashes(collection)
        out: list[Hit] = []
        offset = 0
        while True:
            got = col.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if meta and live.get(meta.get("doc_id")) == meta.get("hash"):
                    out.append(Hit(id=cid, text=text, metadata=meta, similarity=0.0))
            if len(got["ids"]) < page:
                return out
            offset += page

    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embedding of each chunk id."""
        col = self._existing(collection) if ids else None
        if col is None:
            return {}
        got = col.get(ids=list(ids), include=["embeddings"])
        return {
            cid: np.asarray(vec, dtype=np.float32)
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }

    def search(
        self,
        collection: str,
        vector: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
    ) -> list[Hit]:
        """The ``k`` live chunks nearest to ``vector`` (cosine similarity, highest first)."""
        live = self.registry.live_hashes(collection)
        col = self._existing(collection) if live else None
        if col is None:
            return []
        # Ask for a few more than k: stray chunks of unfinished writes are filtered out here.
        res = col.query(
            query_embeddings=[vector],
            n_results=min(k + 16, max(1, col.count())),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        hits = []
        for cid, text, meta, dist in zip(
            res["ids"][0],
            res["documents"][0],
            res["metadatas"][0],
            res["distances"][0],
            strict=True,
        ):
            # A chunk deleted while the query ran (its document replaced) can come back
            # without its metadata or text: it is not live either.
            if not meta or text is None or live.get(meta.get("doc_id")) != meta.get("hash"):
                continue
            hits.append(Hit(id=cid, text=text, metadata=meta, similarity=1.0 - float(dist)))
        return hits[:k]
