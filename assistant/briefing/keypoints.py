"""Which sentences matter: centrality across the collection, position, and the focus.

A sentence is central when it says what many other sentences say (its mean cosine to the
collection's sentences, from the vectors stored at ingest), and news and reports put what
matters first, so the first sentences of a document count more. Key points are chosen by
maximal marginal relevance: important, and unlike the points already chosen. Open questions
are sentences that doubt, question, qualify or contradict ("questioned whether", "might not be
fully disclosed", "however").
"""

from __future__ import annotations

import re

import numpy as np

from assistant.answering.question import is_instruction
from assistant.briefing.sources import Material
from assistant.index.passages import DocumentSentence

#: Sentences shorter or longer than this (in words) do not make a key point on their own.
MIN_WORDS, MAX_WORDS = 8, 60
#: Two sentences this similar say the same thing.
SAME = 0.85
#: How much likeness to a chosen point costs a candidate, in standard deviations of importance.
REPEAT_PENALTY = 1.5
_NEEDS_CONTEXT = re.compile(
    r"^(?:he|she|it|they|this|that|these|those|his|her|its|their|such|both|also|then|there|"
    r"here|and|but|or|so|which|who)\b",
    re.I,
)
#: A sentence that ends on a pointer to what came before ("... of that.").
_LEANS = re.compile(r"\b(?:of|on|for|with|about|to) (?:that|this|it|them)[.!]?[”\"’']?$")
_SPEECH = re.compile(r"\b(?:said|says|argued|noted|added|told|acknowledged|questioned)\b")
_DOUBT = [
    (
        re.compile(r"\b(?:questioned|questions?|asked|wonder(?:ed|s)?) (?:about )?whether\b", re.I),
        1.0,
    ),
    (
        re.compile(
            r"(?<!test )(?<!determine )(?<!assess )(?<!examine )(?<!investigate )"
            r"(?<!evaluate )(?<!explore )\bwhether\b",
            re.I,
        ),
        0.6,
    ),
    (
        re.compile(
            r"\b(?:unclear|uncertain|unknown|remains to be seen|not yet (?:known|clear))\b", re.I
        ),
        1.0,
    ),
    (
        re.compile(
            r"\b(?:might|may|could) not\b|\bnot (?:fully|yet) (?:disclosed|known|clear)\b", re.I
        ),
        0.8,
    ),
    (
        re.compile(
            r"\b(?:disputed?|disagree(?:d|s|ment)?|contested|doubts?|sceptic\w*|skeptic\w*)\b",
            re.I,
        ),
        0.9,
    ),
    (re.compile(r"\b(?:urged? caution|cautioned|warned|risks?|concerns?|fears?)\b", re.I), 0.5),
    (
        re.compile(
            r"\b(?:however|but|although|though|while|doesn['’]t necessarily|not necessarily)\b",
            re.I,
        ),
        0.4,
    ),
    (re.compile(r"\?[”\"’']?$"), 1.0),
]


def usable(sentence: DocumentSentence) -> bool:
    """Whether a sentence reads on its own as a statement of the document."""
    text = sentence.text
    return (
        MIN_WORDS <= sentence.words <= MAX_WORDS
        and text.rstrip("”\"’')").endswith((".", "!"))
        and not _NEEDS_CONTEXT.match(text)
        and not text.lstrip().startswith(("“", '"', "«"))
        and not is_instruction(text)
        and sentence.text != sentence.doc.title
    )


def usable_for_timeline(sentence: DocumentSentence) -> bool:
    """Whether a dated sentence is an event: a whole sentence, not a title or a memo header."""
    return sentence.words >= 5 and sentence.text.rstrip("”\"’')").endswith((".", "!"))


def importance(material: Material) -> np.ndarray:
    """A score per sentence: centrality in its document and in the collection (standardised),
    a bonus for leading its document, a penalty for leaning on its context."""
    n = len(material.sentences)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    vectors = material.vectors
    overall = _standard((vectors @ vectors.mean(axis=0)).astype(np.float32))
    local = np.zeros(n, dtype=np.float32)
    for idx in material.by_document().values():
        own = vectors[idx]
        local[idx] = _standard(own @ own.mean(axis=0))
    positions = np.array([s.position for s in material.sentences], dtype=np.float32)
    lead = 1.5 / (1.0 + positions / 2.0)
    leaning = np.array(
        [
            0.8 if _LEANS.search(s.text) or _SPEECH.search(s.text) else 0.0
            for s in material.sentences
        ],
        dtype=np.float32,
    )
    return (local + 0.5 * overall + lead - leaning).astype(np.float32)


def _standard(values: np.ndarray) -> np.ndarray:
    if values.size < 2:
        return np.zeros_like(values)
    return (values - values.mean()) / (values.std() + 1e-9)


def relevance(
    material: Material, focus_vector: np.ndarray, focus_terms: list[str], near: set[tuple[str, int]]
) -> np.ndarray:
    """How much each sentence is about the focus: cosine to it, plus the share of its key terms
    the sentence holds, plus a little when search ranked the sentence's passage high."""
    from assistant.index.lexical import tokenize

    v = np.asarray(focus_vector, dtype=np.float32)
    cosine = material.vectors @ (v / (np.linalg.norm(v) + 1e-9))
    terms = set(focus_terms)
    words = tokenize([s.text for s in material.sentences]) if terms else []
    lexical = np.array(
        [len(terms.intersection(w)) / len(terms) for w in words] if terms else [0.0] * len(cosine),
        dtype=np.float32,
    )
    bonus = np.array(
        [0.15 if (s.doc.doc_id, s.start) in near else 0.0 for s in material.sentences],
        dtype=np.float32,
    )
    return cosine + 0.5 * lexical + bonus


def on_focus(rel: np.ndarray) -> np.ndarray:
    """Which sentences are about the focus: close to it, relative to the closest one."""
    if rel.size == 0:
        return np.zeros(0, dtype=bool)
    return rel >= max(0.25, 0.45 * float(rel.max()))


def select(
    material: Material,
    scores: np.ndarray,
    eligible: np.ndarray,
    limit: int,
    taken: set[int] | None = None,
    per_document: int | None = None,
) -> list[int]:
    """Up to ``limit`` eligible sentences by maximal marginal relevance: each next one the best
    after a penalty for its likeness to those already chosen; near-repeats never; at most
    ``per_document`` from one document."""
    candidates = np.array(
        [i for i in range(len(scores)) if eligible[i] and i not in (taken or ())], dtype=int
    )
    chosen: list[int] = []
    if candidates.size == 0:
        return chosen
    vectors = material.vectors[candidates]
    closest = np.zeros(len(candidates), dtype=np.float32)
    alive = np.ones(len(candidates), dtype=bool)
    for _ in range(limit):
        mmr = np.where(alive, scores[candidates] - REPEAT_PENALTY * closest, -np.inf)
        best = int(np.argmax(mmr))
        if not np.isfinite(mmr[best]):
            break
        chosen.append(int(candidates[best]))
        alive[best] = False
        if per_document is not None:
            doc = material.sentences[chosen[-1]].doc.doc_id
            if sum(material.sentences[c].doc.doc_id == doc for c in chosen) >= per_document:
                alive &= np.array(
                    [material.sentences[c].doc.doc_id != doc for c in candidates], dtype=bool
                )
        closest = np.maximum(closest, vectors @ vectors[best])
        alive &= closest < SAME
    return chosen


def doubt(sentence: DocumentSentence) -> float:
    """How strongly a sentence questions, qualifies or disputes (0 = not at all)."""
    return max((w for p, w in _DOUBT if p.search(sentence.text)), default=0.0)


def point_count(documents: int) -> int:
    """How many key points a briefing of ``documents`` documents gets."""
    return int(min(10, max(5, 4 + documents // 4)))
