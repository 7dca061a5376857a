"""The support model (an experiment, not shipped; see ``train/support_model.py``): does a
span of a passage state what a chat model's sentence claims?

The verifier's word check (``verify.support``) catches a figure, date or name the span lacks
and a quote put in another mouth; it cannot see a claim that keeps the span's words and
changes what they say ("not" put in, "rose" for "fell", a detail added, two names traded).
This model reads ``[CLS] claim [SEP] span [SEP]`` through the packaged MiniLM, with one logit
on [CLS]: above a threshold, the span states the claim. ``bench/support.py --model`` measures
it beside the verifier; the README (issue 25) has what it gave.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from cachetools import LRUCache

from assistant.answering import span_reader

#: Where ``train/support_model.py`` leaves the weights (git-ignored).
WEIGHTS = Path(__file__).with_name(".ckpt-support") / "reader.npz"
#: Word pieces of a pair read; a claim keeps its first ``MAX_CLAIM_TOKENS``.
MAX_TOKENS = 192
MAX_CLAIM_TOKENS = 64
BATCH = 16
#: Threads a pass uses (torch's count is per calling thread, so set at each pass).
THREADS = 2


def build(base: Any) -> Any:
    """The network: the reader's (``span_reader.build``: ``base`` and a head whose
    ``trained()`` is all but the embeddings) with one output, read on [CLS] by ``logit``."""
    import torch

    model = span_reader.build(base)
    model.head = torch.nn.Linear(base.config.hidden_size, 1)
    return model


def logit(model: Any, enc: Any) -> Any:
    """The model's logit for each encoded pair (``encode``)."""
    hidden = model.base(
        input_ids=enc["input_ids"],
        attention_mask=enc["attention_mask"],
        token_type_ids=enc["token_type_ids"],
    ).last_hidden_state
    return model.head(hidden[:, 0]).squeeze(-1)


def encode(tokenizer: Any, pairs: list[tuple[str, str]], padding: bool = True) -> Any:
    """(claim, span) pairs as the model reads them, claims cut to ``MAX_CLAIM_TOKENS``."""
    claims = []
    for claim, _ in pairs:
        offs = tokenizer(claim, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
        claims.append(
            claim if len(offs) <= MAX_CLAIM_TOKENS else claim[: offs[MAX_CLAIM_TOKENS][0]]
        )
    return tokenizer(
        claims,
        [span for _, span in pairs],
        truncation="only_second",
        max_length=MAX_TOKENS,
        padding=padding,
        return_tensors="pt",
    )


class Support:
    """Trained weights; loads on first use. ``logits`` of (claim, span) pairs, cached."""

    def __init__(self, path: Path = WEIGHTS) -> None:
        self.path = path
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._cache: LRUCache[tuple[str, str], float] = LRUCache(maxsize=4096)

    def _load(self) -> None:
        import torch

        base, self._tokenizer = span_reader.load_base()
        self._model = build(base)
        with np.load(self.path, allow_pickle=False) as f:
            state = span_reader.unpack({k: f[k] for k in f.files})
        self._model.load_state_dict(
            {k: torch.from_numpy(v) for k, v in state.items()}, strict=False
        )
        self._model.eval()

    def logits(self, pairs: list[tuple[str, str]]) -> list[float]:
        """The model's logit for each (claim, span): the higher, the surer it is supported."""
        import torch

        with self._lock:
            todo = [p for p in dict.fromkeys(pairs) if p not in self._cache]
            if todo:
                if self._model is None:
                    self._load()
                torch.set_num_threads(THREADS)
                todo.sort(key=lambda p: len(p[0]) + len(p[1]))
                for i in range(0, len(todo), BATCH):
                    chunk = todo[i : i + BATCH]
                    enc = encode(self._tokenizer, chunk)
                    with torch.inference_mode():
                        out = logit(self._model, enc)
                    for p, v in zip(chunk, out.float().tolist(), strict=True):
                        self._cache[p] = float(v)
            return [self._cache[p] for p in pairs]
