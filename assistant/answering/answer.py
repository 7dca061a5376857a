"""What an answer is: text with markers [n], the citations they open, and the stream of events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.index.passages import Passage

#: The reply when the documents do not answer; also what a language model must say then.
NOT_FOUND = "The documents don't say."


#: The fields of a citation that every JSON face gives (the CLI's ``--json`` gives only these).
CITATION_FIELDS = (
    "n",
    "title",
    "source",
    "location",
    "quote",
    "start",
    "end",
    "score",
    "supported",
)


@dataclass
class Citation:
    """A marker's target: the exact words of a source that support a sentence of the answer.

    ``document_text[start:end] == quote`` for the cited document's cleaned text.
    """

    n: int
    doc_id: str
    title: str
    source: str
    location: str
    quote: str
    start: int
    end: int
    score: float
    supported: bool = True

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """Plain data, for JSON: every field, or with ``compact`` only ``CITATION_FIELDS``."""
        if compact:
            return {k: getattr(self, k) for k in CITATION_FIELDS}
        return asdict(self)


@dataclass
class Sentence:
    """A sentence of the answer text, with the markers it carries and whether it is supported."""

    text: str
    citations: list[int]
    supported: bool


@dataclass
class Dropped:
    """A sentence a chat model wrote that verification did not keep (``verify.Verifier``),
    and why: one of ``verify``'s reasons ("unsupported", "no_content", ...)."""

    text: str
    reason: str


@dataclass
class Answer:
    """A cited answer, or an abstention with the passages that came closest."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    related: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    sentences: list[Sentence] = field(default_factory=list)
    #: The question as searched, after a follow-up was resolved against the conversation.
    search_query: str = ""
    #: Estimated probability that the evidence answers the question (calibrated, 0-1).
    confidence: float | None = None
    #: The short answer ("Priya Raman", "$18.5 million"): a verbatim span of one cited quote,
    #: or None when the question asks for no single thing, none was found, or it abstained.
    short: str | None = None
    #: The number of the citation whose quote holds ``short``.
    short_citation: int | None = None
    #: Where ``short`` lies in that citation's document (cleaned text, like a citation's
    #: start/end), so a face can highlight it: ``document_text[short_start:short_end] == short``.
    short_start: int | None = None
    short_end: int | None = None
    #: Sentences a chat model wrote that verification did not keep, with the reason:
    #: reported, never shown as the answer.
    dropped: list[Dropped] = field(default_factory=list)

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """The answer as plain data, the one serialiser every face's JSON comes from: text,
        short answer, abstained, citations, related, timings, then sentences, dropped,
        search_query and confidence. ``compact`` (the CLI's ``--json``): citations with
        ``CITATION_FIELDS`` only, and after timings only the sentences and what was dropped."""
        data = {
            "text": self.text,
            **self.short_fields(),
            "abstained": self.abstained,
            "citations": [c.to_dict(compact) for c in self.citations],
            "related": [p.to_dict() for p in self.related],
            "timings": self.timings,
        }
        data["sentences"] = [asdict(s) for s in self.sentences]
        data["dropped"] = [asdict(d) for d in self.dropped]
        if not compact:
            data["search_query"] = self.search_query
            data["confidence"] = self.confidence
        return data

    def short_fields(self) -> dict[str, Any]:
        """The short answer as the JSON faces give it (all four None when there is none)."""
        return {
            "short": self.short,
            "short_citation": self.short_citation,
            "short_start": self.short_start,
            "short_end": self.short_end,
        }

    def set_short(self, citation: Citation, start: int, end: int) -> None:
        """Take ``citation.quote[start:end]`` as the short answer (offsets within the quote)."""
        self.short = citation.quote[start:end]
        self.short_citation = citation.n
        self.short_start = citation.start + start
        self.short_end = citation.start + end


@dataclass
class TextDelta:
    """A piece of answer text, in order."""

    text: str
    type: str = "delta"


@dataclass
class CitationEvent:
    """A citation, sent once its marker first appears in the text."""

    citation: Citation
    type: str = "citation"


@dataclass
class Done:
    """The end of a stream, with the whole verified answer."""

    answer: Answer
    type: str = "done"


Event = TextDelta | CitationEvent | Done


def markers(sentence: Sentence) -> str:
    """The sentence's citation markers as the text shows them: " [1] [2]"."""
    return "".join(f" [{n}]" for n in sentence.citations)


def events(answer: Answer) -> Iterator[Event]:
    """A finished answer as the stream an answer gives: each sentence's text with its
    markers, its citations, then ``Done`` (the text alone where it has no sentences)."""
    for i, sentence in enumerate(answer.sentences):
        yield TextDelta(("" if i == 0 else " ") + sentence.text + markers(sentence))
        for n in sentence.citations:
            yield CitationEvent(answer.citations[n - 1])
    if not answer.sentences:
        yield TextDelta(answer.text)
    yield Done(answer)
