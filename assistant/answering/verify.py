"""Checking a generated answer against its passages before anyone reads it.

Whatever wrote the text (a language model, usually), every sentence is held to its markers:

* a marker that points to no passage is removed;
* each sentence is matched to the span of the passage it cites that supports it best (one
  sentence of the passage, or two adjacent ones); that span, verbatim, becomes the citation's
  quote, with its offsets in the document;
* a sentence whose cited passage does not support it is flagged ``supported=False``; a sentence
  with no marker that makes a claim gets the passage that supports it, or is flagged;
* markers are renumbered 1..n in order of first use.

Support is measured on content words (stemmed, stop words out): the share of the sentence's
key terms found in the span, rare terms weighing more. It catches invented figures, names and
claims; it cannot catch a faithful-sounding paraphrase that reverses a meaning.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from assistant.answering.answer import Citation, Sentence
from assistant.answering.question import analyse, is_instruction
from assistant.index.lexical import tokenize
from assistant.index.passages import Passage
from assistant.text.sentences import sentence_spans

MARKER = re.compile(r"\s?\[(\d{1,3})\]")
#: Share of a sentence's key terms that its span must contain to count as support.
SUPPORT = 0.5
_NUMBER = re.compile(r"\d[\d,.]*")


@dataclass
class Span:
    """A stretch of a passage, in document offsets."""

    passage: Passage
    start: int
    end: int
    text: str


def _spans(passage: Passage) -> list[Span]:
    """Each sentence of a passage, and each pair of adjacent sentences."""
    sents = [
        (a, b) for a, b in sentence_spans(passage.text) if not is_instruction(passage.text[a:b])
    ]
    out = [Span(passage, passage.start + a, passage.start + b, passage.text[a:b]) for a, b in sents]
    for (a, b), (c, d) in itertools.pairwise(sents):
        if passage.text[b:c].strip():
            continue  # not adjacent: an instruction sentence stood between them
        out.append(Span(passage, passage.start + a, passage.start + d, passage.text[a:d]))
    return out


def support(claim: str, span_text: str, weights: dict[str, float] | None = None) -> float:
    """How much of ``claim`` the span states: weighted share of its key terms, 0 to 1.

    Numbers in the claim must appear in the span as written; a missing one halves the score.
    """
    terms = analyse(claim).terms
    if not terms:
        return 1.0  # nothing to check ("Here is what the sources say:")
    have = set(tokenize([span_text])[0])
    w = weights or {}
    total = sum(w.get(t, 1.0) for t in terms)
    score = sum(w.get(t, 1.0) for t in terms if t in have) / total
    numbers = _NUMBER.findall(claim)
    if any(n.rstrip(".,") not in span_text for n in numbers):
        score *= 0.5
    return score


def best_span(claim: str, passage: Passage) -> tuple[Span | None, float]:
    """The span of ``passage`` that supports ``claim`` best, with its support.

    A shorter span wins a tie: the quote should be no longer than what supports the claim.
    """
    best: tuple[Span | None, float] = (None, -1.0)
    for span in _spans(passage):
        score = support(claim, span.text)
        if score > best[1] + 1e-9:
            best = (span, score)
    return best


def verify(text: str, passages: list[Passage]) -> tuple[str, list[Citation], list[Sentence]]:
    """The checked text (markers cleaned and renumbered), its citations and its sentences."""
    citations: list[Citation] = []
    by_span: dict[tuple[str, int, int], int] = {}
    sentences: list[Sentence] = []
    for a, b in sentence_spans(text):
        raw = text[a:b]
        cited = [int(m) for m in MARKER.findall(raw)]
        claim = MARKER.sub("", raw).strip()
        if not claim:
            continue
        valid = [k for k in dict.fromkeys(cited) if 1 <= k <= len(passages)]
        numbers: list[int] = []
        supported = True
        terms = analyse(claim).terms if not valid else []
        if cited and not valid:
            # Every marker pointed to no passage: the claim's source is made up.
            supported = False
        elif not valid and len(terms) == 1:
            # One unmarked word ("HACKED", "See also."): no passage is searched for it, as any
            # that holds the word would seem to support it.
            supported = False
        elif not valid and terms:
            # An unmarked claim: find the passage that supports it, if any does.
            scored = [(best_span(claim, p), i + 1) for i, p in enumerate(passages)]
            ((span, score), k) = max(scored, key=lambda s: s[0][1]) if scored else ((None, 0), 0)
            valid = [k] if span is not None and score >= SUPPORT else []
            supported = bool(valid)
        for k in valid:
            span, score = best_span(claim, passages[k - 1])
            if span is None:
                supported = False
                continue
            ok = score >= SUPPORT
            supported = supported and ok
            key = (span.passage.doc_id, span.start, span.end)
            if key not in by_span:
                by_span[key] = len(citations) + 1
                citations.append(_citation(by_span[key], span, score, ok))
            elif not ok:
                citations[by_span[key] - 1].supported = False
            numbers.append(by_span[key])
        sentences.append(Sentence(text=claim, citations=numbers, supported=supported))
    clean = " ".join(s.text + "".join(f" [{n}]" for n in s.citations) for s in sentences)
    return clean, citations, sentences


def _citation(n: int, span: Span, score: float, supported: bool) -> Citation:
    p = span.passage
    return Citation(
        n=n,
        doc_id=p.doc_id,
        title=p.title,
        source=p.source,
        location=p.location,
        quote=span.text,
        start=span.start,
        end=span.end,
        score=round(score, 4),
        supported=supported,
    )
