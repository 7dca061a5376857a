"""The reader: the words of a text that answer a question, and how sure it is that they do.

The question and a window of text (a sentence with its neighbours, ``windows.py``) go through
the packaged MiniLM together (``[CLS] question [SEP] window [SEP]``), and a start/end head over
its word pieces marks the answer ("Who founded Kestrel?" with "The company was founded by Priya
Raman in 2019." gives "Priya Raman"). [CLS] stands for "no answer here": a span's margin is its
start plus end logit less [CLS]'s, one score that compares across windows, so the best margin
of all the windows read decides, against one calibrated threshold (``qa_reader.json``), whether
the documents answer at all. Which sentence answers is the one holding the span; the span is
the short answer.

The six transformer layers and the head were fine-tuned here by ``train/qa_reader.py`` on public
QA data and news (never on the sets the benchmarks report on); the word-piece embeddings stay
the packaged model's own, so only the layers and the head ship, in ``qa_reader.npz`` as int8 with a
scale per row (read with numpy, no pickled objects).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from cachetools import LRUCache

# The network, its packing, and reading a span out of its logits are the span reader's: the
# same MiniLM with the same start/end head, trained here on more data for whole windows.
from assistant.answering.span_reader import (
    _UNREAD,
    Span,
    best_span,
    build,
    load_base,
    unpack,
    widen,
)
from assistant.index.embeddings import PassQueue, fastest_dtype

if TYPE_CHECKING:
    from assistant.answering.windows import Window

WEIGHTS = Path(__file__).with_name("qa_reader.npz")
CALIBRATION = Path(__file__).with_name("qa_reader.json")
#: Question plus sentence, in word pieces; a longer sentence is cut at its end.
MAX_TOKENS = 192
#: A longer question (a news quiz's story before it) keeps its last this many word pieces,
#: where it asks; the window is what must not be cut.
MAX_QUESTION_TOKENS = 64
#: (question, sentence) pairs whose spans are kept.
CACHE_SIZE = 4096
#: Calls merged into one pass at most.
MAX_CALLS_PER_PASS = 16
#: Pairs per forward batch: sorted by length first, each batch padded to its longest only.
BATCH = 8
#: Cores one pass of the reader may use. A question's pass (16 windows, about 300 ms on one
#: core) is most of the time it takes to answer, and passes run one at a time on the queue's
#: thread, so it takes two cores where there are: 1.75x faster on an idle 2-core AMD EPYC
#: (``bench/news.py``). The embedder keeps to one core per pass (``embeddings.py``).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
READ_THREADS = min(2, _CORES or 1)


@dataclass(frozen=True)
class Calibration:
    """How a reading is scored and when the score is enough, all fitted by ``bench/heldout.py
    --calibrate`` on news weeks the reader was not trained on.

    A reading's score is the reader's margin plus the retrieval's evidence for its window,
    weighed by a logistic fit of "its sentence holds the answer" on them (``margin +
    window_weight * window.score + passage_weight * passage.score + dense_weight *
    passage.dense``, the way open-domain readers add the retriever's score to the reader's):
    a span the reader likes in a passage the search barely matched counts for less. The
    shipped fit weighs the cosine only (``bench/heldout.py`` ``FEATURES``). The best score
    chooses the sentence; below the one threshold, the answer abstains; the logistic curve
    turns a score into a confidence."""

    threshold: float = 0.0
    slope: float = 1.0
    intercept: float = 0.0
    #: Trained with one softmax over all the windows of a question (``train/qa_reader.py
    #: --shared``): its "no answer" is then weighed over all the windows read, not per window.
    shared: bool = False
    #: Weights of the first pass's score of the window (``windows.select``), of the
    #: retrieval score of its passage and of its passage's cosine with the question, relative
    #: to the margin's (0: the margin alone).
    window_weight: float = 0.0
    passage_weight: float = 0.0
    dense_weight: float = 0.0

    @classmethod
    def shipped(cls, path: Path = CALIBRATION) -> Calibration:
        """The fitted values from ``qa_reader.json``, else the untrained defaults."""
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        fitted = {k: float(data[k]) for k in ("threshold", "slope", "intercept")}
        weights = data.get("weights", {})
        return cls(
            **fitted,
            shared=data.get("normalisation") == "shared",
            window_weight=float(weights.get("window", 0.0)),
            passage_weight=float(weights.get("passage", 0.0)),
            dense_weight=float(weights.get("dense", 0.0)),
        )

    def score(self, margin: float, window: Window) -> float:
        """A reading's score: its margin with its window's retrieval evidence added."""
        passage = window.passage
        return (
            margin
            + self.window_weight * window.score
            + self.passage_weight * passage.score
            + self.dense_weight * (passage.dense or 0.0)
        )

    def confidence(self, score: float) -> float:
        """The probability that the reading of this score answers the question."""
        return float(1.0 / (1.0 + np.exp(-(self.slope * score + self.intercept))))


class Reader:
    """The shipped reader; loads on first use, one pass at a time, on one thread."""

    def __init__(self, path: Path = WEIGHTS, dtype: str = "auto", onnx: bool = True) -> None:
        self.path = path
        #: "float32", "bfloat16", or "auto": the faster on this CPU, timed as the embedder
        #: times it (bfloat16 halves a pass where the CPU has bfloat16 instructions).
        self.dtype = dtype
        #: Float32 passes on ONNX Runtime (False: on torch, to compare the two).
        self.onnx = onnx
        self._loaded = False
        #: The model on torch, or None where an ONNX Runtime session (``_session``, from
        #: ``_onnx_session``) runs it instead: the session holds its own copy of the weights.
        self._model: Any = None
        self._session: Any = None
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
        model = model.to(getattr(torch, dtype)).eval()
        # bfloat16 stays with torch (ONNX Runtime's CPU kernels have none); float32 runs on
        # ONNX Runtime, the same logits sooner
        self._session = _onnx_session(model) if dtype == "float32" and self.onnx else None
        self._model = model if self._session is None else None
        self._loaded = True

    def _tail(self, question: str) -> str:
        """``question`` cut to its last ``MAX_QUESTION_TOKENS`` word pieces."""
        pieces = self._tokenizer(
            question, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        offsets = pieces["offset_mapping"]
        if len(offsets) <= MAX_QUESTION_TOKENS:
            return question
        return question[offsets[-MAX_QUESTION_TOKENS][0] :]

    @cached_property
    def calibration(self) -> Calibration:
        """The threshold and confidence curve shipped beside the weights."""
        return Calibration.shipped(self.path.with_suffix(".json"))

    def read(self, question: str, sentences: list[str]) -> list[Span | None]:
        """The best span of each text (None for an empty one), in order."""
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
        return PassQueue(self._read, "reader", MAX_CALLS_PER_PASS)

    def _read(self, pairs: list[tuple[str, str]]) -> list[Span | None]:
        """One pass over (question, text) pairs; on the queue's thread only. The pairs are
        tokenized once, sorted by length and run in batches of similar length, so that a short
        window is not padded to the longest."""
        import torch

        if not pairs:
            return []
        texts = [text for _, text in pairs]
        found: list[Span | None] = [None] * len(pairs)
        with self._lock:
            if not self._loaded:
                self._load()
            # torch's thread count is per calling thread: set on the queue's own thread
            torch.set_num_threads(READ_THREADS)
            enc = self._tokenizer(
                [self._tail(q) for q, _ in pairs],
                texts,
                truncation="only_second",
                max_length=MAX_TOKENS,
                return_offsets_mapping=True,
            )
            order = sorted(range(len(pairs)), key=lambda k: len(enc["input_ids"][k]))
            for first in range(0, len(order), BATCH):
                rows = order[first : first + BATCH]
                width = max(len(enc["input_ids"][k]) for k in rows)
                ids = np.zeros((len(rows), width), dtype=np.int64)
                types = np.zeros_like(ids)
                mask = np.zeros_like(ids)
                for r, k in enumerate(rows):
                    n = len(enc["input_ids"][k])
                    ids[r, :n] = enc["input_ids"][k]
                    types[r, :n] = enc["token_type_ids"][k]
                    mask[r, :n] = 1
                start_np, end_np = self._forward(ids, mask, types)
                for r, k in enumerate(rows):
                    sequence = enc.sequence_ids(k)
                    allowed = np.zeros(width, dtype=bool)
                    allowed[: len(sequence)] = [sid == 1 for sid in sequence]
                    a, b, margin = best_span(start_np[r], end_np[r], allowed)
                    if np.isfinite(margin):
                        offsets = enc["offset_mapping"][k]
                        lo, hi = widen(texts[k], int(offsets[a][0]), int(offsets[b][1]))
                        nulls = float(start_np[r][0]), float(end_np[r][0])
                        found[k] = Span(lo, hi, margin, *nulls)
        return found

    def _forward(
        self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The start and end logits of one batch (float32), by ONNX Runtime or torch."""
        import torch

        if self._session is not None:
            start, end = self._session.run(None, {"ids": ids, "mask": mask, "types": types})
            return start, end
        with torch.inference_mode():
            s, e = self._model(
                torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types)
            )
        return s.float().numpy(), e.float().numpy()


def _onnx_session(model: Any) -> Any:
    """``model`` (float32) exported to ONNX and opened in ONNX Runtime on
    ``READ_THREADS`` threads, or None where onnxruntime is not installed. Its fused kernels
    give the same logits as torch (within 5e-5) in 0.73 to 0.83 of the time on a 2-core AMD
    EPYC (``bench/reader_pass.py``), room to read more windows in the same time. About 2 s,
    once, when the reader first loads. Its threads sleep between passes instead of spinning,
    so that they take no core from the embedder's passes."""
    try:
        import onnxruntime as ort
    except ImportError:  # pragma: no cover - a dependency; torch reads without it
        return None
    import tempfile
    import warnings

    import torch

    dummy = torch.ones((1, 8), dtype=torch.long)
    names = ["ids", "mask", "types", "start", "end"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reader.onnx"
        with warnings.catch_warnings():  # the exporter's notes on tracing, not for users
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (dummy, dummy, dummy),
                path,
                input_names=names[:3],
                output_names=names[3:],
                dynamic_axes={name: {0: "batch", 1: "pieces"} for name in names},
                opset_version=17,
                dynamo=False,
            )
        graph = path.read_bytes()
    options = ort.SessionOptions()
    options.intra_op_num_threads = READ_THREADS
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


_shared: dict[tuple[Path, str], Reader] = {}
_shared_lock = threading.Lock()


def get_reader(dtype: str = "auto", path: Path = WEIGHTS) -> Reader:
    """The process-wide reader for these settings: its model (about 45 MB in bfloat16)
    is loaded once, however many assistants the process holds."""
    with _shared_lock:
        if (path, dtype) not in _shared:
            _shared[(path, dtype)] = Reader(path, dtype)
        return _shared[(path, dtype)]
