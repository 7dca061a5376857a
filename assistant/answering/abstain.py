"""Deciding to abstain: is the best evidence strong enough to answer from?

Several signals are combined in a logistic model whose coefficients and threshold are fitted on
SQuAD 2.0 dev500 by ``bench/qa.py`` and shipped in ``assistant/answering/calibration.json``:
how close in meaning the best sentence is, how much of the question's key terms it covers
(rare terms weigh more), whether it holds the kind of thing asked for, how well its words align
with the question's in context, and how close the best passage is. The reader's probability
that the best sentence holds the answer, and whether the question's names are in that
sentence, are signals too; a calibration fitted before they existed gives them no weight.
``p_answerable`` below the threshold means "the documents don't say".
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.answering import short_answer
from assistant.answering.extractive import Candidate, with_stems
from assistant.answering.question import Question
from assistant.answering.reader import sigmoid
from assistant.index.lexical import tokenize
from assistant.index.passages import Passage

CALIBRATION = Path(__file__).with_name("calibration.json")
FEATURES = (
    "lead",
    "answer_span",
    "reader",
    "sent_dense",
    "coverage",
    "typed",
    "passage_dense",
    "passage_lexical",
    "passage_coverage",
    "rarest_found",
    "bigrams",
    "entities_found",
    "entities_in_sentence",
    "negated",
    "align_min",
    "align_min2",
    "align_mean",
    "missing_terms",
    "number_missing",
    "sentence_length",
)


@dataclass
class Calibration:
    """Logistic coefficients over ``FEATURES`` and the decision threshold."""

    weights: dict[str, float] = field(
        default_factory=lambda: {
            "sent_dense": 6.0,
            "coverage": 4.0,
            "typed": 1.0,
            "passage_dense": 2.0,
            "passage_lexical": 0.5,
        }
    )
    bias: float = -5.5
    threshold: float = 0.5


@lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    """The shipped calibration, or the hand-set defaults if none was fitted yet."""
    if CALIBRATION.exists():
        data = json.loads(CALIBRATION.read_text()).get("abstention")
        if data:
            return Calibration(
                weights=data["weights"], bias=data["bias"], threshold=data["threshold"]
            )
    return Calibration()


def features(
    question: Question,
    best: Candidate | None,
    passages: list[Passage],
    idf: dict[str, float],
    alignment: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> dict[str, float]:
    """The signals the decision uses, each roughly in [0, 1].

    The first is the reader's probability that the sentence to be quoted holds the answer:
    it reads an answer given in other words than the question's, where closeness in words
    does not.

    Besides closeness in meaning and words, two signals target questions written against a
    passage that does not answer them (a swapped name, an added condition): whether the
    question's rarest term occurs in the best passage at all, and whether pairs of adjacent
    key terms of the question stand together in the best sentence; and how well the question's
    weakest-matched words are matched in context by the best sentence (``alignment.Aligner``).
    Three more read whether the best sentence answers rather than resembles: how many of the
    question's key terms it lacks (counted, not weighted: one missing common word counts as
    much as a rare one, for a swapped word is as often common), whether a number the question
    names is missing from the best passage ("in 1975" asked of a passage about 1973), and the
    sentence's length (a long sentence covers many terms without answering).
    """
    top = passages[0] if passages else None
    typed = 0.5 if question.kind is None else (1.0 if best and best.typed else 0.0)
    lexical = (top.lexical or 0.0) if top else 0.0
    passage_terms = _terms_of(top.text if top else "", question.terms)
    weight = {t: idf.get(t, 1.0) for t in question.terms}
    total = sum(weight.values()) or 1.0
    # Unseen terms weigh no more than the commonest seen one (``LexicalIndex.weights``), so
    # the rarest term is one the collection knows.
    rarest = max(question.terms, key=lambda t: weight[t]) if question.terms else None
    return {
        # The reader's probability that the best sentence holds the answer (``reader.py``).
        "reader": (sigmoid(best.logit) if best.logit is not None else 0.5) if best else 0.0,
        # The score that made it the lead: the reader's, with its passage's rank and its
        # closeness in meaning and words added (``extractive.read``).
        "lead": best.score if best else 0.0,
        # Whether the sentence holds a span of the kind asked for, near the question's own
        # words ("... said Marcus Feld from the Corbett Institute" for "Which think tank is
        # Feld from?"): what the short answer would be cut from (``short_answer``).
        "answer_span": _answer_span(question, best),
        "sent_dense": best.dense if best else 0.0,
        "coverage": best.coverage if best else 0.0,
        "typed": typed,
        "passage_dense": (top.dense or 0.0) if top else 0.0,
        # BM25 grows with the number of terms; squash it so long questions don't dominate.
        "passage_lexical": lexical / (lexical + 5.0),
        "passage_coverage": sum(weight[t] for t in question.terms if t in passage_terms) / total,
        "rarest_found": 1.0 if rarest is None or rarest in passage_terms else 0.0,
        "bigrams": _bigram_share(question.terms, best.text if best else ""),
        "entities_found": _entities_found(question.text, top.text if top else ""),
        # "Which think tank is Marcus Feld from?": the sentence that names Feld is about him,
        # however far "think tank" is from its words.
        "entities_in_sentence": _entities_found(question.text, best.text) if best else 0.0,
        # Questions that ask what did *not* happen are rarely answered by a retrieved sentence.
        "negated": 1.0 if _NEGATION.search(question.text) else 0.0,
        "align_min": alignment[0] if best else 0.0,
        "align_min2": alignment[1] if best else 0.0,
        "align_mean": alignment[2] if best else 0.0,
        "missing_terms": (
            min(sum(1 for t in question.terms if t not in best.terms), MAX_MISSING) / MAX_MISSING
            if best
            else 1.0
        ),
        "number_missing": _number_missing(question.text, top.text if top else ""),
        "sentence_length": min(len(best.text.split()), LONG_SENTENCE) / LONG_SENTENCE
        if best
        else 0.0,
    }


def _answer_span(question: Question, best: Candidate | None) -> float:
    """The best short-answer span's score in the sentence, squashed into [0, 1): 0 with no
    span of the asked kind, 0.5 when the question asks for no thing."""
    if best is None:
        return 0.0
    if short_answer.wanted(question) is None:
        return 0.5
    values = [v for _, v in short_answer.score_spans(question, best.text)]
    top = max(values, default=0.0)
    return top / (1.0 + top) if top > 0 else 0.0


#: Counted up to this many missing key terms; words of a sentence counted up to this many.
MAX_MISSING = 4
LONG_SENTENCE = 60
_NUMBER = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")


def _number_missing(question: str, passage: str) -> float:
    """1.0 when the question writes a number (a year, a figure) that the passage does not."""
    wanted = set(_NUMBER.findall(question))
    return 1.0 if wanted and not wanted <= set(_NUMBER.findall(passage)) else 0.0


_NEGATION = re.compile(r"\b(not|never|n't|none|without)\b", re.I)
_ENTITY = re.compile(r"(?<!^)(?<![.?!] )\b([A-Z][\w'’-]+|\d[\d,.]*)")


def _entities_found(question: str, passage: str) -> float:
    """Share of the question's names and numbers (not its first word) found in the passage.

    A question about "the 1998 treaty" asked of a passage about the 1997 one is not answered
    by it, however close the two are in meaning.
    """
    found = [m.group(1) for m in _ENTITY.finditer(question.strip())]
    if not found:
        return 1.0
    return sum(1 for e in found if e in passage) / len(found)


def _terms_of(text: str, wanted: list[str]) -> set[str]:
    return with_stems(set(tokenize([text])[0]), wanted) if text else set()


def _bigram_share(terms: list[str], sentence: str) -> float:
    """Share of the question's adjacent key-term pairs that are adjacent in the sentence too."""
    pairs = set(itertools.pairwise(terms))
    if not pairs or not sentence:
        return 0.5 if not pairs else 0.0
    words = tokenize([sentence])[0]
    near = {(a, b) for i, a in enumerate(words) for b in words[i + 1 : i + 3]}
    near |= {(b, a) for a, b in near}
    return sum(1 for p in pairs if p in near) / len(pairs)


def p_answerable(signals: dict[str, float], calibration: Calibration | None = None) -> float:
    """Probability that the evidence answers the question."""
    cal = calibration or load_calibration()
    z = cal.bias + sum(cal.weights.get(k, 0.0) * v for k, v in signals.items())
    return sigmoid(z)


def should_abstain(signals: dict[str, float], calibration: Calibration | None = None) -> bool:
    """True when the evidence is too weak to answer from."""
    cal = calibration or load_calibration()
    return p_answerable(signals, cal) < cal.threshold
