"""Checking a generated answer against its passages before anyone reads it.

Whatever wrote the text (a language model, usually), every sentence is held to its markers:

* a marker that points to no passage is removed;
* each sentence is matched to the span of the passage it cites that supports it best (one
  sentence of the passage, or two adjacent ones); that span, verbatim, becomes the citation's
  quote, with its offsets in the document;
* a sentence no cited passage supports is dropped, never shown; so is one with no content
  word, one that repeats a passage's header from the prompt, and one that says nothing an
  earlier sentence did not; a sentence with no marker that makes a claim gets the passage that
  supports it, or is dropped (``Verifier.dropped`` says why);
* markers are renumbered 1..n in order of first use.

Support is measured on content words (stemmed, stop words out): the share of the sentence's
key terms found in the span, with every number and every name of the sentence required, and a
name required beside what the sentence says of it (``support``). It catches invented figures,
names, dates and claims and quotes put in the wrong mouth; it cannot catch a paraphrase that
keeps the words and reverses the meaning. ``bench/support.py`` measures it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from assistant.answering.answer import Citation, Dropped, Sentence, markers
from assistant.answering.question import analyse, is_instruction, query_stop
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


#: A capitalised word within a sentence (not its first word, not opening a quote): a name, a
#: month or weekday, an acronym. What it names must be in the span, as must every number.
_NAME_WORD = re.compile(r"(?<=[\w,;)] )[A-Z][\w'’-]*")


def _names(claim: str) -> set[str]:
    """The key terms of ``claim`` written with a capital inside it: what it names."""
    stop = query_stop()
    return {t for t in tokenize([" ".join(_NAME_WORD.findall(claim))])[0] if t not in stop}


#: Quantities in words: a claim's "four plants" must be the span's, as its "4" must.
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[a-z]+teen|twenty"
    r"|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion"
    r"|trillion|dozen)\b",
    re.I,
)


def _holds_number(text: str, number: str) -> bool:
    """Whether ``text`` has ``number`` as written, not as part of a longer one ("6" in "60")."""
    if number[0].isalpha():
        return re.search(rf"\b{number}\b", text, re.I) is not None
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d]|[.,]\d)", text) is not None


def support(claim: str, span_text: str, context: str = "") -> float:
    """How much of ``claim`` the span states: the share of its key terms found in it, 0 to 1.

    It is 0 unless the span has every number of the claim as written (in figures or words:
    "four" is no "three") and every term the claim names (capitalised inside it: a person,
    place, body, month), each in a sentence of the span that holds at least half of the
    claim's other terms found there: "X said ..." where the span has someone else say it, or a
    figure the span gives for something else, fail. Numbers count there, not in the share of
    words: "The allowance is £455,000 a year" is not half supported by "The rent is £455,000 a
    year".

    ``context``: what a fragment of a reply answers ("Where is Kestrel based?" for "Pune"):
    the share is of its terms, and every word of the fragment is a name, to be found beside
    them.
    """
    # a fragment's words are its names; what it is said of is the question
    terms = analyse(context).terms if context else analyse(claim).terms
    numbers = [n.rstrip(".,") for n in _NUMBER.findall(claim) + _NUMBER_WORD.findall(claim)]
    if not terms and not numbers:
        return 1.0  # nothing to check ("Here is what the sources say:")
    # a number's pieces ("455", "000") are no words
    words = [t for t in terms if not t[0].isdigit()]
    texts = [span_text[a:b] for a, b in sentence_spans(span_text)] or [span_text]
    sentences = [set(tokenize([t])[0]) for t in texts]
    have = set().union(*sentences)
    names = _names(f"x {claim}" if context else claim)
    other = [t for t in terms if t in have and t not in names]

    def beside(held: list[bool]) -> bool:
        """Whether one of the sentences marked in ``held`` has half the other terms or more."""
        return any(
            h and 2 * len(s.intersection(other)) >= len(other)
            for h, s in zip(held, sentences, strict=True)
        )

    for number in numbers:
        if not beside([_holds_number(t, number) for t in texts]):
            return 0.0
    for name in names:
        if not beside([name in s for s in sentences]):
            return 0.0
    return sum(t in have for t in words) / len(words) if words else 1.0


def best_span(claim: str, passage: Passage, context: str = "") -> tuple[Span | None, float]:
    """The span of ``passage`` that supports ``claim`` best, with its support (``support``).

    A shorter span wins a tie: the quote should be no longer than what supports the claim.
    """
    best: tuple[Span | None, float] = (None, -1.0)
    for span in _spans(passage):
        score = support(claim, span.text, context)
        if score > best[1] + 1e-9:
            best = (span, score)
    return best


#: A reply of at most this many words is a fragment ("Priya Raman", "180 beds"): it is checked
#: as the answer to the question.
FRAGMENT = 4
#: What a model says of its input before a claim ("According to the passage, ...", "The
#: document states that ..."): about our prompt, not the documents; left out of the claim.
_INPUT = (
    r"(?:the |these |this |that )?(?:given |provided )?"
    r"(?:passages?|documents?|texts?|articles?|sources?|information|memo|report)"
)
_META = re.compile(
    rf"^(?:(?:according to|based on|as stated in|as per) {_INPUT}(?: provided| given)?[,:]?"
    rf"|{_INPUT} (?:states?|says?|mentions?|notes?|reports?|explains?|shows?)(?: that)?:?)\s*",
    re.I,
)

#: Reads a question over texts: each text's answer span (start, end) and its margin over "no
#: answer", or None (``Responder`` gives the learned reader's).
Finder = Callable[[str, list[str]], list[tuple[int, int, float] | None]]

#: Why a sentence was not kept (``Dropped.reason``).
NO_CONTENT = "no_content"  # no content word to check: "1.", "Sure!"
ECHOED_PROMPT = "echoed_prompt"  # passages' headers as the prompt shows them: titles, places
REPEAT = "repeat"  # says nothing an earlier kept sentence, or the question, did not
QUESTION = "question"  # asks rather than answers: "Which county?"
OFF_QUESTION = "off_question"  # true, but the reader finds no answer to the question in it
NO_SOURCE = "no_source"  # every marker points to no passage
UNSUPPORTED = "unsupported"  # no passage it cites (or, unmarked, none at all) states it


class Verifier:
    """Checks a written answer one sentence at a time, so that each can be shown as soon as
    it is checked and no sentence is shown before.

    A sentence is kept only if a passage supports it: those it cites by marker (markers that
    point to no passage removed), or for an unmarked claim the one passage that supports it
    best. Its citations quote the supporting span verbatim and are numbered 1..n by first use
    across the answer. Every other sentence is dropped with its reason (``dropped``): no
    content word, a passage's header repeated, nothing new, no source, not supported.
    """

    def __init__(
        self, passages: list[Passage], question: str = "", finder: Finder | None = None
    ) -> None:
        """``question``: what the text answers; a reply's fragment ("Pune") is checked as its
        answer, by ``finder`` where there is one (the reader: is this the answer the passage
        gives?), else by the question's words around it."""
        self.passages = passages
        self.question = question
        self.finder = finder
        asked = analyse(question)
        self._asked = set(asked.terms)
        #: The reader answers questions that ask for a thing (who, when, how many, ...);
        #: "What did Feld say?" or "Why ...?" it was not taught to read for.
        self._asks_for_a_thing = asked.kind not in (None, "statement")
        self.citations: list[Citation] = []
        self.sentences: list[Sentence] = []
        self.dropped: list[Dropped] = []
        self._by_span: dict[tuple[str, int, int], int] = {}
        self._said: list[set[str]] = []
        # what the prompt shows above each passage (``llm.passages_block``)
        self._headers: set[str] = set()
        for p in passages:
            self._headers |= set(analyse(f"{p.title} {p.location}").terms)

    def check(self, raw: str) -> Sentence | None:
        """The sentence as kept (its markers those of its citations), or None if it is dropped
        (recorded in ``dropped``) or holds only markers."""
        cited = [int(m) for m in MARKER.findall(raw)]
        claim = MARKER.sub("", raw).strip()
        if _META.match(claim):
            claim = _META.sub("", claim)
            claim = claim[:1].upper() + claim[1:]
        if not claim:
            return None
        # A few words that are no sentence ("Pune", "180 beds") answer the question: checked
        # as that answer, so "Paris" is no answer to a question the documents do not answer.
        context = self.question if self.question and len(claim.split()) <= FRAGMENT else ""
        terms = set(analyse(claim).terms)
        found: list[tuple[Span, float]] | str | None = self._structural(claim, terms, context)
        if found is None and context and self.finder is not None:
            found = self._bare_answer(claim.rstrip(" ."), cited)
        if found is None:
            found = self._support(claim, cited, terms, context)
        if not isinstance(found, str) and not context and not self.sentences:
            found = self._on_question(claim, terms, found)
        if isinstance(found, str):
            self.dropped.append(Dropped(claim, found))
            return None
        numbers = []
        for span, score in found:
            key = (span.passage.doc_id, span.start, span.end)
            if key not in self._by_span:
                self._by_span[key] = len(self.citations) + 1
                self.citations.append(_citation(self._by_span[key], span, score, True))
            numbers.append(self._by_span[key])
        sentence = Sentence(text=claim, citations=list(dict.fromkeys(numbers)), supported=True)
        self.sentences.append(sentence)
        self._said.append(terms)
        return sentence

    def text(self) -> str:
        """The kept sentences with their markers."""
        return " ".join(s.text + markers(s) for s in self.sentences)

    def _structural(self, claim: str, terms: set[str], context: str) -> str | None:
        if claim.endswith("?"):
            return QUESTION
        if not terms:
            return NO_CONTENT
        if not context and terms <= self._headers:
            # only words of the passages' titles and places (a bare answer may be one)
            return ECHOED_PROMPT
        if any(terms <= said for said in self._said) or (not context and terms <= self._asked):
            return REPEAT
        return None

    def _on_question(
        self, claim: str, words: set[str], found: list[tuple[Span, float]]
    ) -> list[tuple[Span, float]] | str:
        """``found`` if the answer's first sentence answers the question: the reader, reading
        the question over its quotes, finds an answer (likelier than "no answer") that the
        sentence says; else why not. Without a reader, or for a question that asks for no
        thing, ``found``. A true sentence that answers nothing asked ("Parking has become the
        other sore point." to "How much will parking cost?") is no answer: the documents'
        silence is. ``words``: the claim's key terms."""
        if self.finder is None or not self._asks_for_a_thing:
            return found
        said = claim.lower()
        spans = [span for span, _ in found]
        reads = self.finder(self.question, [s.text for s in spans])
        for span, read in zip(spans, reads, strict=True):
            if read is None or read[2] <= 0:
                continue
            answer = span.text[read[0] : read[1]]
            terms = analyse(answer).terms
            # its words, or most of its key terms (a quotation given in other punctuation)
            if answer.lower() in said or (
                terms and 2 * len(words.intersection(terms)) >= len(terms)
            ):
                return found
        return OFF_QUESTION

    def _bare_answer(self, words: str, cited: list[int]) -> list[tuple[Span, float]] | str:
        """The span where the reader, reading the question, finds ``words`` as the answer
        (its span overlapping them, likelier than "no answer"), or the reason none does."""
        valid = self._valid(cited)
        if isinstance(valid, str):
            return valid
        passages = [self.passages[k - 1] for k in valid] or self.passages
        holding = [
            (span, at)
            for p in passages
            for span in _spans(p)
            if (at := span.text.lower().find(words.lower())) >= 0
        ]
        if not holding or self.finder is None:
            return UNSUPPORTED
        found = self.finder(self.question, [span.text for span, _ in holding])
        best: tuple[Span, float] | None = None
        for (span, at), read in zip(holding, found, strict=True):
            if read is None or read[2] <= 0 or read[1] <= at or read[0] >= at + len(words):
                continue  # no answer here, or the reader's answer is other words
            if best is None or read[2] > best[1]:
                best = (span, read[2])
        return [(best[0], 1.0)] if best is not None else UNSUPPORTED

    def _valid(self, cited: list[int]) -> list[int] | str:
        """The markers that point to a passage, once each; ``NO_SOURCE`` if markers were
        written and none does."""
        valid = [k for k in dict.fromkeys(cited) if 1 <= k <= len(self.passages)]
        return NO_SOURCE if cited and not valid else valid

    def _support(
        self, claim: str, cited: list[int], terms: set[str], context: str
    ) -> list[tuple[Span, float]] | str:
        """The spans that support ``claim`` with their support, or the reason none does."""
        valid = self._valid(cited)
        if isinstance(valid, str):
            return valid
        if not valid:
            if len(terms) == 1 and not context:
                # One unmarked word ("HACKED"): no passage is searched for it, as any that
                # holds the word would seem to support it.
                return UNSUPPORTED
            scored = [best_span(claim, p, context) for p in self.passages]
            span, score = max(scored, key=lambda t: t[1]) if scored else (None, 0.0)
            return [(span, score)] if span is not None and score >= SUPPORT else UNSUPPORTED
        found = []
        for k in valid:
            span, score = best_span(claim, self.passages[k - 1], context)
            if span is not None and score >= SUPPORT:
                found.append((span, score))
        return found or UNSUPPORTED


#: Markers that open what follows a sentence ("... in 2019. [1] It ..."): the sentence's own.
_LEADING = re.compile(r"(?:\s*\[\d{1,3}\])+")
#: What may still become only markers when more arrives ("", " [", " [1] [2").
_UNFINISHED = re.compile(r"\s*(?:\[\d{1,3}\]\s*)*(?:\[\d{0,3})?")


def sentences_of(pieces: Iterable[str]) -> Iterator[str]:
    """The sentences of a text that arrives in pieces, each as soon as the next one begins
    (the last when the text ends), with the markers written just after its full stop: what
    may be checked and shown while a model writes."""
    pending = ""
    for piece in pieces:
        pending += piece
        while True:
            spans = sentence_spans(pending)
            if len(spans) < 2:
                break
            end = spans[0][1]
            after = pending[end:]
            if _UNFINISHED.fullmatch(after):
                break  # what follows may yet be this sentence's markers only
            lead = _LEADING.match(after)
            cut = end + (lead.end() if lead else 0)
            yield pending[spans[0][0] : cut]
            pending = pending[cut:]
    while pending.strip():
        spans = sentence_spans(pending)
        if not spans:
            break
        lead = _LEADING.match(pending, spans[0][1])
        cut = lead.end() if lead else spans[0][1]
        yield pending[spans[0][0] : cut]
        pending = pending[cut:]


def verify(text: str, passages: list[Passage]) -> tuple[str, list[Citation], list[Sentence]]:
    """A whole written text checked (``Verifier``): the kept sentences with their markers,
    their citations, and the kept sentences."""
    verifier = Verifier(passages)
    for a, b in sentence_spans(text):
        verifier.check(text[a:b])
    return verifier.text(), verifier.citations, verifier.sentences


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
