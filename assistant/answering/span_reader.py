"""The span reader: the words of a cited sentence that answer the question, read by a model.

The question and one sentence go through the packaged MiniLM together
(``[CLS] question [SEP] sentence [SEP]``) and a start/end head over its word pieces marks the
answer ("Who founded Kestrel?" with "The company was founded by Priya Raman in 2019." gives
"Priya Raman"). Its six transformer layers and the head were fine-tuned here by
``train/span_reader.py`` on news quiz questions with their evidence (never on the sets the
benchmarks report on); the word-piece embeddings stay the packaged model's own, so only the
layers and the head ship, in ``assistant/answering/span_reader.npz`` as int8 with a scale per
row (read with numpy, no pickled objects).

``read`` gives, per sentence, the best span and its margin over "no answer here" (the [CLS]
piece): the short answer is given only where the margin is positive. The rules of
``short_answer.py`` still decide *whether* a question asks for a thing at all.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from cachetools import LRUCache

from assistant.index.embeddings import PassQueue, fastest_dtype

WEIGHTS = Path(__file__).with_name("span_reader.npz")
#: Question plus sentence, in word pieces; a longer sentence is cut at its end.
MAX_TOKENS = 192
#: The longest short answer, in word pieces.
MAX_SPAN = 24
#: A longer question (a news quiz's story before it) keeps its last this many word pieces,
#: where it asks; the sentence is what must not be cut.
MAX_QUESTION_TOKENS = 96
#: (question, sentence) pairs whose spans are kept.
CACHE_SIZE = 4096
#: Calls merged into one pass at most (a pass pads every pair to the longest).
MAX_CALLS_PER_PASS = 16


class _Unread(Enum):
    """Marks a pair not read yet (None is a reading: nothing found)."""

    UNREAD = 0


_UNREAD = _Unread.UNREAD


@dataclass(frozen=True)
class Span:
    """A short answer found by the model: characters ``start:end`` of the sentence."""

    start: int
    end: int
    #: How far the span's start+end logits stand above those of "no answer" ([CLS]).
    margin: float
    #: The window's own "no answer" start and end logits ([CLS]'s), for a reader whose
    #: windows are weighed together (``qa_reader.Calibration.shared``).
    null_start: float = 0.0
    null_end: float = 0.0


_WORD_CHAR = re.compile(r"[\w'’]")


def widen(text: str, a: int, b: int) -> tuple[int, int]:
    """Characters ``a:b`` grown to whole words (a word piece may start inside a word)."""
    while a > 0 and _WORD_CHAR.match(text[a - 1]) and _WORD_CHAR.match(text[a]):
        a -= 1
    while b < len(text) and _WORD_CHAR.match(text[b]) and _WORD_CHAR.match(text[b - 1]):
        b += 1
    return a, b


def best_span(
    start: np.ndarray, end: np.ndarray, allowed: np.ndarray, max_span: int = MAX_SPAN
) -> tuple[int, int, float]:
    """The best (first, last) allowed word piece and its margin over "no answer" (piece 0):
    start plus end logit, first <= last < first + ``max_span``."""
    idx = np.flatnonzero(allowed)
    if idx.size == 0:
        return 0, 0, float("-inf")
    s, e = start[idx], end[idx]
    n = idx.size
    i, j = np.indices((n, n))
    scores = np.where((j >= i) & (j < i + max_span), s[:, None] + e[None, :], -np.inf)
    a, b = divmod(int(np.argmax(scores)), n)
    return int(idx[a]), int(idx[b]), float(scores[a, b] - (start[0] + end[0]))


def pack(state: dict[str, Any]) -> dict[str, np.ndarray]:
    """Trained parameters (name -> tensor) as int8 matrices with a float32 scale per row;
    vectors (biases, layer norms) stay float16."""
    arrays: dict[str, np.ndarray] = {}
    for name, tensor in state.items():
        value = tensor.detach().float().numpy()
        if value.ndim == 2:
            scale = np.abs(value).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            arrays[f"{name}::q"] = np.round(value / scale).astype(np.int8)
            arrays[f"{name}::s"] = scale.astype(np.float32)
        else:
            arrays[name] = value.astype(np.float16)
    return arrays


def unpack(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inverse of ``pack``: name -> float32 array."""
    out: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if key.endswith("::s"):
            continue
        if key.endswith("::q"):
            name = key[:-3]
            out[name] = value.astype(np.float32) * arrays[f"{name}::s"]
        else:
            out[key] = value.astype(np.float32)
    return out


def build(base: Any) -> Any:
    """The network: ``base`` (a BertModel) and a start/end head on every word piece."""
    import torch

    class SpanModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base
            self.head = torch.nn.Linear(base.config.hidden_size, 2)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.base(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            start, end = self.head(hidden).unbind(-1)
            return start, end

        def trained(self) -> dict[str, Any]:
            """What fine-tuning changes (and ``pack`` saves): all but the embeddings."""
            return {
                name: p for name, p in self.named_parameters() if not name.startswith("base.embed")
            }

    return SpanModel()


def load_base() -> tuple[Any, Any]:
    """The packaged MiniLM (a plain BertModel) and its fast tokenizer, from the package folder."""
    from transformers import AutoModel, AutoTokenizer

    from assistant.index.embeddings import model_path

    path = str(model_path())
    return AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)


class SpanReader:
    """The shipped span reader; loads on first use, one pass at a time, on one thread."""

    def __init__(self, path: Path = WEIGHTS, dtype: str = "auto") -> None:
        self.path = path
        #: "float32", "bfloat16", or "auto": the faster on this CPU, timed as the embedder
        #: times it (bfloat16 halves a pass where the CPU has bfloat16 instructions).
        self.dtype = dtype
        self._model: Any = None
        self._tokenizer: Any = None
        #: Guards the model: its loading and its passes.
        self._lock = threading.Lock()
        #: Spans already read, by (question, sentence): a repeated question costs no pass.
        #: Touched under ``_cache_lock`` only.
        self._cache: LRUCache[tuple[str, str], Span | None] = LRUCache(maxsize=CACHE_SIZE)
        self._cache_lock = threading.Lock()

    def _load(self) -> None:
        import torch

        with np.load(self.path, allow_pickle=False) as f:
            state = unpack({k: f[k] for k in f.files})
        base, self._tokenizer = load_base()
        model = build(base)
        missing = set(model.trained()) - set(state)
        if missing:
            raise ValueError(f"{self.path.name} lacks {sorted(missing)[:3]}")
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
        dtype = fastest_dtype() if self.dtype == "auto" else self.dtype
        self._model = model.to(getattr(torch, dtype)).eval()

    def _tail(self, question: str) -> str:
        """``question`` cut to its last ``MAX_QUESTION_TOKENS`` word pieces."""
        pieces = self._tokenizer(
            question, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        offsets = pieces["offset_mapping"]
        if len(offsets) <= MAX_QUESTION_TOKENS:
            return question
        return question[offsets[-MAX_QUESTION_TOKENS][0] :]

    def read(self, question: str, sentences: list[str]) -> list[Span | None]:
        """The best span of each sentence (None for an empty one), in order."""
        with self._cache_lock:
            known = [self._cache.get((question, s), _UNREAD) for s in sentences]
        todo = [s for s, k in zip(sentences, known, strict=True) if k is _UNREAD and s.strip()]
        fresh = dict(zip(todo, self._passes([(question, s) for s in todo]), strict=True))
        with self._cache_lock:
            for s, span in fresh.items():
                self._cache[(question, s)] = span
        return [fresh.get(s) if k is _UNREAD else k for s, k in zip(sentences, known, strict=True)]

    @cached_property
    def _passes(self) -> PassQueue[tuple[str, str], Span | None]:
        """The passes of all callers, in order, merged (under 32 clients, waiting on a plain
        lock left some questions seconds behind)."""
        return PassQueue(self._read, "span-reader", MAX_CALLS_PER_PASS)

    def _read(self, pairs: list[tuple[str, str]]) -> list[Span | None]:
        """One pass over (question, sentence) pairs; on the queue's thread only."""
        import torch

        if not pairs:
            return []
        texts = [text for _, text in pairs]
        with self._lock:
            if self._model is None:
                self._load()
            batch = self._tokenizer(
                [self._tail(q) for q, _ in pairs],
                texts,
                truncation="only_second",
                max_length=MAX_TOKENS,
                padding=True,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = batch.pop("offset_mapping").numpy()
            with torch.inference_mode():
                start, end = self._model(
                    batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
                )
        start, end = start.float().numpy(), end.float().numpy()
        found: list[Span | None] = []
        for k, text in enumerate(texts):
            allowed = np.array([sid == 1 for sid in batch.sequence_ids(k)])
            a, b, margin = best_span(start[k], end[k], allowed)
            if not np.isfinite(margin):
                found.append(None)
                continue
            lo, hi = widen(text, int(offsets[k, a, 0]), int(offsets[k, b, 1]))
            found.append(Span(lo, hi, margin))
        return found


_shared: dict[tuple[Path, str], SpanReader] = {}
_shared_lock = threading.Lock()


def get_span_reader(dtype: str = "auto", path: Path = WEIGHTS) -> SpanReader:
    """The process-wide span reader for these settings: its model (about 45 MB in bfloat16)
    is loaded once, however many assistants the process holds."""
    with _shared_lock:
        if (path, dtype) not in _shared:
            _shared[(path, dtype)] = SpanReader(path, dtype)
        return _shared[(path, dtype)]
