"""``Assistant``: the one object that every face (web chat, HTTP API, CLI, widget) calls."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answering.answer import Answer, Event
from assistant.answering.responder import Responder
from assistant.answering.retriever import Retriever
from assistant.briefing import Briefing
from assistant.briefing.overview import Overviews
from assistant.index.passages import Passage
from assistant.index.registry import DocumentRecord
from assistant.index.store import Index
from assistant.settings import Settings, check_collection_name, get_settings

if TYPE_CHECKING:
    # imported where used, so that a face that never ingests, briefs or chains loads none of it
    from assistant.answering.chain import AnswerChain, PassageRetriever
    from assistant.briefing.builder import Briefer
    from ingest.pipeline import ChunkListener, Download, Ingestor, IngestReport, Listener


class Assistant:
    """Documents in, cited passages out, over one store described by ``Settings``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    @cached_property
    def index(self) -> Index:
        """The store (Chroma + document registry + embedder), opened on first use."""
        return Index(self.settings)

    @cached_property
    def _ingestor(self) -> Ingestor:
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
        on_file: Listener | None = None,
        on_chunks: ChunkListener | None = None,
        fetched: Mapping[str, Download] | None = None,
    ) -> IngestReport:
        """Ingest files, folders and URLs. ``on_file`` is called with each file's result,
        ``on_chunks`` with (chunks, tokens) of each batch stored. URLs are fetched before the
        store's write lock is taken, unless ``fetched`` (from ``fetch``) holds them already.
        ``StoreBusy`` when another write holds the store beyond ``BRIEF_WRITE_WAIT_S``."""
        return self._ingestor.ingest(
            sources,
            collection=self._collection(collection),
            prune=prune,
            on_file=on_file,
            on_chunks=on_chunks,
            fetched=fetched,
        )

    def fetch(self, urls: Iterable[str]) -> dict[str, Download]:
        """Fetch web addresses for a later ``ingest(..., fetched=...)``, holding no lock: each
        within ``BRIEF_URL_TIMEOUT_S`` in all and at ``BRIEF_URL_MIN_KIB_PER_S``."""
        return self._ingestor.fetch(urls)

    def recover(self) -> int:
        """Undo the unfinished writes of a process that died mid-write (all collections)."""
        return self._ingestor.recover()

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

    @cached_property
    def responder(self) -> Responder:
        """Question answering over the store (offline answerer or chat model)."""
        return Responder(self.index, self.retriever, self.settings, Overviews(self.index).answer)

    def ask(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        collection: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Answer:
        """A cited answer to ``question``, or an abstention with related passages.

        ``history`` is the conversation so far as ``{"role": "user"|"assistant", "content"}``
        dicts; follow-up questions are resolved against it.
        """
        return self.responder.ask(question, history, self._collection(collection), filters)

    def stream(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        collection: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Iterator[Event]:
        """The answer as events: ``TextDelta``s, ``CitationEvent``s, then ``Done(answer)``."""
        return self.responder.stream(question, history, self._collection(collection), filters)

    def warm_up(self, collection: str | None = None) -> None:
        """Load the local models and indexes with one offline question of the usual path, so
        that the first real question is quick; never calls the chat model."""
        self.responder.warm_up(self._collection(collection))

    @cached_property
    def briefer(self) -> Briefer:
        """Briefings of collections."""
        from assistant.briefing.builder import Briefer

        writer = None
        if self.settings.llm:
            from assistant.briefing.mapreduce import ModelWriter

            writer = ModelWriter(self.settings, self.index)
        return Briefer(self.index, self.retriever, writer)

    def brief(self, collection: str | None = None, focus: str | None = None) -> Briefing:
        """A cited briefing of a collection: key points, who said what, key figures, a timeline
        and open questions, each item with citations that quote its documents verbatim.

        ``focus`` ("export controls") narrows it to what the documents say on that.
        """
        if focus is not None and len(focus) > self.settings.max_question_chars:
            raise ValueError(
                f"the focus is longer than {self.settings.max_question_chars} characters"
            )
        return self.briefer.brief(self._collection(collection), focus)

    @cached_property
    def chain(self) -> AnswerChain:
        """This assistant as a LangChain ``Runnable``: question (or dict) in, ``Answer`` out."""
        from assistant.answering.chain import AnswerChain

        return AnswerChain(self)

    def as_retriever(self, k: int = 5, collection: str | None = None) -> PassageRetriever:
        """Hybrid search as a LangChain retriever (returns ``Document``s)."""
        from assistant.answering.chain import PassageRetriever

        return PassageRetriever(assistant=self, k=k, collection=collection)

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid (dense + BM25) retrieval over the store."""
        return Retriever(self.index)

    def search(
        self,
        query: str,
        k: int = 5,
        collection: str | None = None,
        filters: dict[str, Any] | None = None,
        mode: str = "hybrid",
    ) -> list[Passage]:
        """The ``k`` best passages for ``query``, best first.

        ``mode`` is "hybrid" (meaning and words, fused), "dense" or "lexical".
        ``filters`` may name a ``source`` or ``doc_id`` (or a list) and ``date_from`` /
        ``date_to`` (ISO days).
        """
        query = " ".join(query.split())
        if not query:
            raise ValueError("the query is empty")
        if mode not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"unknown search mode {mode!r}")
        vector = self.index.embedder.embed_one(query)
        return self.retriever.retrieve(
            query, vector, self._collection(collection), k=k, filters=filters, mode=mode
        )
