"""The reader: which candidate sentence holds the answer, not which one resembles the question.

A small model over signals that cost nothing at question time: the sentence's vector (stored
at ingest) against the question's, elementwise, so that the model learns which directions of
meaning matter; closeness in meaning and in words, each also relative to the best candidate;
whether the sentence holds the kind of thing asked for; and whether it holds something the
question does not already say (a name, a number, a date), which is what an answer adds.

Trained by ``train/reader.py`` on news quiz questions with their evidence paragraphs (never
on the sets the benchmarks report on); the weights ship in ``assistant/answering/reader.npz`` (a few
kB) and are read with numpy only. ``score`` gives one logit per sentence: higher is more
likely to hold the answer, and ``sigmoid(logit)`` is that probability for a sentence on its own.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.answering.question import _DATE, _NAME, Question

WEIGHTS = Path(__file__).with_name("reader.npz")
KINDS = ("person", "date", "number", "place", "duration", "statement", "instance", None)
#: Per-sentence signals before the kind interactions and the vector product.
BASE = (
    "dense",
    "dense_gap",
    "coverage",
    "coverage_gap",
    "typed",
    "new_caps",
    "new_name",
    "new_number",
    "new_date",
    "quoted",
    "missing_terms",
    "length",
    "bias",
)
#: Signals that mean more for some kinds of question than others ("a new number" answers
#: "how much", not "who"): each is also given once per kind.
BY_KIND = ("typed", "new_caps", "new_number", "new_date")
DIM = 384

_WORD = re.compile(r"[\w'’-]+")
_CAPS = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]*")
_DIGITS = re.compile(r"\d[\d,.]*")


@dataclass
class Sentences:
    """What the reader needs of a question's candidate sentences (aligned lists)."""

    texts: list[str]
    vectors: np.ndarray  # (n, DIM); a zero row where a sentence has no vector
    dense: np.ndarray  # cosine to the question
    coverage: np.ndarray  # share of key terms, rarity-weighted
    typed: np.ndarray  # holds the kind of thing asked for (0/1)
    missing: np.ndarray  # key terms absent, counted


def sigmoid(z: float) -> float:
    """The probability a logit stands for (written with tanh, which cannot overflow)."""
    return 0.5 * (1.0 + math.tanh(0.5 * float(z)))


def features(question: Question, qvec: np.ndarray, s: Sentences) -> np.ndarray:
    """The reader's input rows, one per sentence: ``BASE``, then ``BY_KIND`` once per kind,
    then the question's vector times the sentence's."""
    n = len(s.texts)
    if n == 0:
        return np.zeros((0, width()), dtype=np.float32)
    asked = question.text.lower()
    asked_words = set(_WORD.findall(asked))
    new_caps = np.array([_new_caps(t, asked_words) for t in s.texts])
    new_name = np.array(
        [float(any(m.group(0).lower() not in asked for m in _NAME.finditer(t))) for t in s.texts]
    )
    asked_digits = set(_DIGITS.findall(question.text))
    new_number = np.array(
        [float(any(d not in asked_digits for d in _DIGITS.findall(t))) for t in s.texts]
    )
    new_date = np.array(
        [float(any(m.group(0).lower() not in asked for m in _DATE.finditer(t))) for t in s.texts]
    )
    quoted = np.array([float(bool(re.search(r"[\"“”]", t))) for t in s.texts])
    length = np.array([min(len(t.split()), 60) / 60 for t in s.texts])
    base = np.stack(
        [
            s.dense,
            s.dense - s.dense.max(),
            s.coverage,
            s.coverage - s.coverage.max(),
            s.typed,
            new_caps,
            new_name,
            new_number,
            new_date,
            quoted,
            np.minimum(s.missing, 4) / 4,
            length,
            np.ones(n),
        ],
        axis=1,
    )
    kind = np.zeros((n, len(KINDS) * len(BY_KIND)))
    at = KINDS.index(question.kind) if question.kind in KINDS else len(KINDS) - 1
    by_kind = base[:, [BASE.index(f) for f in BY_KIND]]
    kind[:, at * len(BY_KIND) : (at + 1) * len(BY_KIND)] = by_kind
    product = s.vectors * qvec[None, :] * np.sqrt(DIM)
    return np.concatenate([base, kind, product], axis=1).astype(np.float32)


def width() -> int:
    """Columns of ``features``."""
    return len(BASE) + len(KINDS) * len(BY_KIND) + DIM


def _new_caps(text: str, asked: set[str]) -> float:
    """Capitalised words (not a sentence's first) that the question does not use, up to 3."""
    new = {m.group(0).lower() for m in _CAPS.finditer(text)} - asked
    return min(len(new), 3) / 3


@dataclass
class Model:
    """A one-hidden-layer network (or, with no hidden layer, a linear model) over
    standardised features."""

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray  # (width, hidden) or (width, 1)
    b1: np.ndarray
    w2: np.ndarray | None = None  # (hidden, 1)
    b2: float = 0.0

    def score(self, x: np.ndarray) -> np.ndarray:
        """One logit per row of ``x`` (a model without the vector product reads only the
        columns before it)."""
        x = x[:, : self.w1.shape[0]]
        z = (x - self.mean) / self.scale
        h = z @ self.w1 + self.b1
        if self.w2 is None:
            return h[:, 0]
        return (np.tanh(h) @ self.w2)[:, 0] + self.b2

    def save(self, path: Path) -> None:
        """Write the weights (npz: numpy arrays only, no pickled objects)."""
        arrays = {"mean": self.mean, "scale": self.scale, "w1": self.w1, "b1": self.b1}
        if self.w2 is not None:
            arrays |= {"w2": self.w2, "b2": np.array([self.b2])}
        as_float32 = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
        np.savez_compressed(path, **as_float32)  # type: ignore[arg-type]  # no key is allow_pickle

    @classmethod
    def load(cls, path: Path) -> Model:
        """The weights written by ``save``."""
        with np.load(path, allow_pickle=False) as f:
            w2 = f.get("w2", None)
            b2 = float(f["b2"][0]) if "b2" in f else 0.0
            return cls(f["mean"], f["scale"], f["w1"], f["b1"], w2, b2)


@lru_cache(maxsize=1)
def shipped() -> Model | None:
    """The trained reader shipped with the package, or None if there is none."""
    return Model.load(WEIGHTS) if WEIGHTS.exists() else None
