"""The embedder seen through the two interfaces other libraries expect.

* ``MiniLMEmbeddings``: a LangChain ``Embeddings``, for LangChain vector stores and chains.
* ``MiniLMChromaFunction``: a Chroma ``EmbeddingFunction``, passed to every collection we open
  so Chroma never falls back to its own default model (which would try to download one).
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings as LangChainEmbeddings

from assistant.index.embeddings import Embedder, get_embedder


class MiniLMEmbeddings(LangChainEmbeddings):
    """LangChain ``Embeddings`` over the packaged all-MiniLM-L6-v2."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder or get_embedder()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages; unit-length vectors of 384 floats."""
        return self.embedder.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one question; the model uses the same encoder for questions and passages."""
        return self.embedder.embed_one(text).tolist()


@register_embedding_function
class MiniLMChromaFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function over the packaged all-MiniLM-L6-v2, fully offline."""

    def __init__(self, embedder: Embedder | None = None, dtype: str = "auto") -> None:
        self.embedder = embedder or get_embedder(dtype=dtype)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "briefing-minilm"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.embedder.requested_dtype}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMChromaFunction:
        return MiniLMChromaFunction(dtype=config.get("dtype", "auto"))
