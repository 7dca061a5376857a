"""The assistant as LangChain components, to compose with other LangChain code.

* ``PassageRetriever``: a LangChain retriever over our hybrid search; it returns ``Document``s
  whose metadata carry the doc id, title, source, location, offsets and score.
* ``AnswerChain``: a ``Runnable`` from a question (a string, or a dict with ``question`` and
  optional ``history``, ``collection``, ``filters``) to a verified ``Answer``; its ``stream``
  yields the same events as ``Assistant.stream``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict

from assistant.answering.answer import Answer, Event
from assistant.index.passages import Passage

if TYPE_CHECKING:
    from assistant.core import Assistant

#: What the chain takes: a question, or a dict with ``question`` and optional ``history``,
#: ``collection`` and ``filters``.
ChainInput = str | dict[str, Any]


@runtime_checkable
class Searcher(Protocol):
    """What the retriever needs of an ``Assistant`` (which sits above this layer)."""

    def search(
        self,
        query: str,
        k: int = 5,
        collection: str | None = None,
        filters: dict[str, Any] | None = None,
        mode: str = "hybrid",
    ) -> list[Passage]: ...


class PassageRetriever(BaseRetriever):
    """Hybrid (dense + BM25) retrieval as a LangChain retriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    assistant: Searcher
    k: int = 5
    collection: str | None = None
    filters: dict[str, Any] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.assistant.search(
            query, k=self.k, collection=self.collection, filters=self.filters
        )
        return [
            Document(
                page_content=p.text,
                metadata={k: v for k, v in p.to_dict().items() if k != "text" and v is not None},
            )
            for p in passages
        ]


def _arguments(value: ChainInput) -> dict[str, Any]:
    if isinstance(value, str):
        return {"question": value}
    if isinstance(value, dict) and "question" in value:
        keys = ("question", "history", "collection", "filters")
        return {k: value[k] for k in keys if k in value}
    raise TypeError("the chain takes a question string or a dict with a 'question' key")


class AnswerChain(Runnable[ChainInput, Answer]):
    """Question in, verified cited ``Answer`` out."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def invoke(
        self, input: ChainInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        """Answer one question."""
        return self._call_with_config(
            lambda value: self.assistant.ask(**_arguments(value)), input, config
        )

    def stream(  # type: ignore[override]  # events, where a Runnable streams its output type
        self, input: ChainInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Event]:
        """The answer's events: text deltas, citations, then ``Done`` with the answer."""
        yield from self.assistant.stream(**_arguments(input))
