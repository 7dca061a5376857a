"""Where sources disagree: two documents giving different figures for the same thing.

Two figures conflict when they are of the same kind (amount, percentage, count), come from
different documents, their sentences say nearly the same thing (cosine of the stored sentence
vectors at least ``SAME_CLAIM``) and the figures differ. The item quotes both figures and cites
both sentences, so a reader sees each source's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.briefing.figures import Found

#: Sentences at least this close make the same claim (measured on the samples: a paraphrase
#: with another figure scores 0.8-0.95; unrelated sentences with figures stay below 0.6).
SAME_CLAIM = 0.78


@dataclass
class Conflict:
    """Two documents' figures for the same claim."""

    first: Found
    second: Found

    @property
    def text(self) -> str:
        a, b = self.first, self.second
        return (
            f"Sources differ: {a.sentence.doc.title} gives {a.value}, "
            f"{b.sentence.doc.title} gives {b.value}."
        )


def conflicts(
    found: list[Found], vectors: np.ndarray, index_of: dict[int, int], limit: int = 3
) -> list[Conflict]:
    """Up to ``limit`` pairs of figures that disagree, closest claims first."""
    numbers = [f for f in found if f.kind != "date"]
    pairs: list[tuple[float, Conflict]] = []
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            if a.kind != b.kind or a.sentence.doc.doc_id == b.sentence.doc.doc_id:
                continue
            if _amount(a.value) == _amount(b.value):
                continue
            va = vectors[index_of[id(a.sentence)]]
            vb = vectors[index_of[id(b.sentence)]]
            close = float(va @ vb)
            if close >= SAME_CLAIM:
                pairs.append((close, Conflict(a, b)))
    pairs.sort(key=lambda p: -p[0])
    out: list[Conflict] = []
    used: set[int] = set()
    for _, c in pairs:
        if id(c.first) in used or id(c.second) in used:
            continue
        used |= {id(c.first), id(c.second)}
        out.append(c)
        if len(out) == limit:
            break
    return out


def _amount(value: str) -> str:
    """A figure's digits and scale, so "$5.6 million" equals "US$5.6 million"."""
    v = value.lower().replace(",", "")
    digits = re.findall(r"\d+(?:\.\d+)?", v)
    scale = re.findall(r"million|billion|trillion|thousand|bn|mn|per ?cent|percent|%", v)
    return " ".join(digits + [s.replace("percent", "%").replace("per cent", "%") for s in scale])
