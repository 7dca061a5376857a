"""A cross reader (an experiment, not shipped; see ``train/cross_reader.py``): the question and
one candidate sentence read together, word against word.

The sentence reader (``reader.py``) weighs signals that cost nothing at question time; it
cannot see that "think tank" is what "Corbett Institute" answers, or that a sentence restates
the question without the answer. This model reads ``[CLS] question [SEP] sentence [SEP]``
through the packaged MiniLM, whose top layers were fine-tuned here (``train/cross_reader.py``,
on news quiz questions with their evidence, never on the sets the benchmarks report on), and
gives two things per sentence:

- ``logit``: does this sentence answer the question (its sigmoid is that probability);
- ``short``: the span of the sentence that is the answer ("Corbett Institute"), or None where
  the model finds none better than "no span".

The bottom layers are the packaged model's own; only the fine-tuned top layers and the two
small heads are saved, in ``train/cross_reader.npz`` (float16, numpy arrays only, 9.9 MB;
git-ignored). ``Reader`` reads sentences with it; it was tried on the dozen sentences the
sentence reader ranks best (README, "Readers tried").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answering.span_reader import best_span, load_base, widen

WEIGHTS = Path(__file__).with_name("cross_reader.npz")  # written by train/cross_reader.py
#: Question plus sentence, in word pieces; longer sentences are cut at the end.
MAX_TOKENS = 128
#: The longest short answer, in word pieces.
MAX_SPAN = 16
HIDDEN = 384


@dataclass
class Reading:
    """What the cross reader makes of one sentence."""

    logit: float
    #: Character offsets of the short answer in the sentence, or None.
    short: tuple[int, int] | None = None
    #: How far the best span stands above "no span" (a logit difference).
    span_margin: float = 0.0


def build_model(base, trained_layers: int):
    """The network: ``base`` (a BertModel) plus a relevance head on [CLS] and a start/end head
    on every word piece. ``trained_layers`` names the top layers that were fine-tuned."""
    import torch

    class CrossReader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base
            self.trained_layers = trained_layers
            self.relevance = torch.nn.Linear(HIDDEN, 1)
            self.span = torch.nn.Linear(HIDDEN, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.base(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            rel = self.relevance(h[:, 0]).squeeze(-1)
            start, end = self.span(h).unbind(-1)
            return rel, start, end

        def trained_parameters(self) -> dict[str, torch.nn.Parameter]:
            """The parameters that were fine-tuned (what ``save`` writes)."""
            total = len(self.base.encoder.layer)
            keep = [f"base.encoder.layer.{i}." for i in range(total - trained_layers, total)]
            return {
                name: p
                for name, p in self.named_parameters()
                if name.startswith(("relevance.", "span.")) or name.startswith(tuple(keep))
            }

    return CrossReader()


def save(model, path: Path) -> None:
    """Write the fine-tuned parameters as float16 numpy arrays (no pickled objects)."""
    arrays = {
        name: p.detach().float().numpy().astype(np.float16)
        for name, p in model.trained_parameters().items()
    }
    arrays["trained_layers"] = np.array([model.trained_layers], dtype=np.int64)
    np.savez_compressed(path, **arrays)


def span_from_logits(
    start: np.ndarray, end: np.ndarray, in_sentence: np.ndarray
) -> tuple[int, int, float]:
    """The best (first, last) word piece of the sentence as the answer, and its margin over
    "no span" (the [CLS] piece at 0): the shipped span reader's rule, spans of MAX_SPAN."""
    return best_span(start, end, in_sentence, MAX_SPAN)


class Reader:
    """The shipped cross reader, ready to score sentences against a question."""

    def __init__(self, path: Path = WEIGHTS, dtype: str = "float32") -> None:
        import torch

        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        layers = int(arrays.pop("trained_layers")[0])
        base, self.tokenizer = load_base()
        self.model = build_model(base, layers)
        state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()}
        missing = set(self.model.trained_parameters()) - set(state)
        if missing:
            raise ValueError(f"{path.name} lacks {sorted(missing)[:3]}")
        self.model.load_state_dict(state, strict=False)
        self.dtype = getattr(torch, dtype)
        self.model = self.model.to(self.dtype).eval()
        self._lock = threading.Lock()

    def read(self, question: str, sentences: list[str]) -> list[Reading]:
        """One ``Reading`` per sentence, in order."""
        import torch

        if not sentences:
            return []
        batch = self.tokenizer(
            [question] * len(sentences),
            sentences,
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = batch.pop("offset_mapping").numpy()
        segment = np.array(
            [[1 if s == 1 else 0 for s in batch.sequence_ids(i)] for i in range(len(sentences))]
        )
        with self._lock, torch.inference_mode():
            rel, start, end = self.model(
                batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
            )
        rel = rel.float().numpy()
        start = start.float().numpy()
        end = end.float().numpy()
        out = []
        for k, text in enumerate(sentences):
            a, b, margin = span_from_logits(start[k], end[k], segment[k] == 1)
            short = None
            if margin > 0:
                short = widen(text, int(offsets[k, a, 0]), int(offsets[k, b, 1]))
            out.append(Reading(float(rel[k]), short, margin))
        return out
