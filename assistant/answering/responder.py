"""From a question to a verified, cited answer (or an abstention), as events or as one Answer.

The steps, each owned by its module: resolve a follow-up against the conversation
(``followup.py``), retrieve passages (``retriever.py``), answer (offline: ``extractive.py``;
with a chat model: ``llm.py``), verify and number the citations (``verify.py``), decide whether
the evidence is too weak (``abstain.py``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from assistant.answering import (
    abstain,
    definition,
    extractive,
    followup,
    people,
    short_answer,
    windows,
)
from assistant.answering.alignment import Aligner
from assistant.answering.answer import (
    NOT_FOUND,
    Answer,
    Citation,
    CitationEvent,
    Done,
    Event,
    Sentence,
    TextDelta,
    events,
    markers,
)
from assistant.answering.llm import LLMWriter, Reply
from assistant.answering.qa_reader import Reader, get_reader
from assistant.answering.question import Question, analyse
from assistant.answering.retriever import Retriever
from assistant.answering.span_reader import get_span_reader
from assistant.answering.verify import FRAGMENT, MARKER, Verifier, sentences_of
from assistant.answering.windows import Reading, Window
from assistant.errors import ModelError, QuestionError
from assistant.index.passages import Passage, location_at
from assistant.index.store import Index
from assistant.settings import Settings

#: Passages of one document the learned reader may choose sentences from: more than
#: retrieval's own cap (3), since the sentence that answers often sits beside the passages that
#: match best (``bench/windows.py`` on held-out news: 3 -> 6 shows the answer to more).
READ_PER_DOCUMENT = 6
#: Passages the learned reader chooses its windows from.
READ_DEPTH = 30

log = logging.getLogger(__name__)

ABSTAIN_TEXT = NOT_FOUND + " None of the passages found answers this question."
# Control characters (a NUL, a terminal's escape) and lone surrogates, which no text encoding
# can carry ("\ud800" is valid JSON): they mean nothing in a question, and a lone surrogate
# made the tokenizer fail.
_UNREADABLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")


@dataclass
class Draft:
    """An offline answer before the decision to give it or abstain."""

    question: Question
    query: str
    passages: list[Passage]
    candidates: list[extractive.Candidate]
    chosen: list[extractive.Candidate]
    signals: dict[str, float]
    p_answerable: float
    idf: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def clean_question(question: str, max_chars: int) -> str:
    """The question with its whitespace collapsed and control characters and lone surrogates
    dropped; ``QuestionError`` if empty or too long."""
    text = " ".join(_UNREADABLE.sub("", str(question or "")).split())
    if not text:
        raise QuestionError("the question is empty", "empty_question")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text):,} characters long; the limit is {max_chars:,}",
            "question_too_long",
        )
    return text


#: Answers an overview question (question, collection, filters) or returns None.
Overviews = Callable[[str, str, dict[str, Any] | None], Answer | None]


class Responder:
    """Answers questions over an index; one per ``Assistant``."""

    def __init__(
        self,
        index: Index,
        retriever: Retriever,
        settings: Settings,
        overviews: Overviews = lambda question, collection, filters: None,
    ) -> None:
        self.index = index
        #: Answers overview questions ("Summarise the depot memo") from the briefing's key
        #: points, or None for any other question; given by ``Assistant`` (the briefing sits
        #: above answering).
        self.overviews = overviews
        self.retriever = retriever
        self.settings = settings
        # one cache of sentence vectors for both offline answerers
        self.vectors = windows.SentenceVectors(index.embedder, index.registry)
        self.weights = extractive.Weights.shipped()
        self.aligner = Aligner(index.embedder)
        #: The learned short-answer reader (loaded on first use), unless the rules are asked for.
        self.span_reader = (
            get_span_reader(settings.embed_dtype) if settings.short_reader == "model" else None
        )

    # --- public --------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None,
        collection: str,
        filters: dict[str, Any] | None = None,
    ) -> Answer:
        """The whole answer at once."""
        for event in self.stream(question, history, collection, filters):
            if isinstance(event, Done):
                return event.answer
        raise RuntimeError("the answer stream ended without an answer")  # pragma: no cover

    def stream(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None,
        collection: str,
        filters: dict[str, Any] | None = None,
    ) -> Iterator[Event]:
        """Text deltas, then the citations, then the whole verified answer."""
        # "What are the main points?": the key points of what it names, with or without a
        # chat model (grounded by construction); in an empty collection, the usual path.
        summary = self.overviews(self._clean(question), collection, filters)
        if summary is not None:
            yield from events(summary)
            return
        if self.settings.llm:
            yield from self._with_model(question, history, collection, filters)
            return
        if self.settings.answerer == "reader":
            yield from events(self._read_offline(question, history, collection, filters))
            return
        yield from events(self._offline(question, history, collection, filters))

    def warm_up(self, collection: str) -> None:
        """Load and run once every local part of answering (the embedding model, Chroma, the
        word index, the readers) with a question of the usual path, answered offline: the
        chat model, if one is set, is never called (it may be slow, or paid by the token)."""
        question = "Who is quoted in these documents?"
        if self.settings.llm:
            self.reader.read(question, ["Nobody is quoted."])  # it checks a model's bare answers
        if self.settings.answerer == "reader":
            self._read_offline(question, None, collection, None)
        else:
            self._offline(question, None, collection, None)

    # --- steps ---------------------------------------------------------------------------

    def _clean(self, question: str) -> str:
        return clean_question(question, self.settings.max_question_chars)

    def draft(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None,
        collection: str,
        filters: dict[str, Any] | None = None,
    ) -> Draft:
        """Everything the offline answer is decided from (also what ``bench/qa.py`` tunes on)."""
        question = self._clean(question)
        started = time.perf_counter()
        query = followup.resolve(question, history)
        vector, query_tokens = self.index.embedder.embed_query(query)
        depth = max(self.settings.top_k, self.settings.read_passages)
        passages = self.retriever.retrieve(query, vector, collection, k=depth, filters=filters)
        retrieved = _ms(started)
        asked = analyse(question)
        q = Question(text=question, terms=analyse(query).terms, kind=asked.kind, focus=asked.focus)
        lexical = self.retriever.lexical(collection)
        idf = lexical.weights(q.terms)
        # The sentence is chosen with word rarity counted among the documents of the strong
        # passages only, so unrelated documents elsewhere in the collection (or weak ones that
        # fill the last places) cannot change which sentence is cited. The abstention signals
        # keep the collection-wide rarity they were calibrated with.
        strong = (
            {p.doc_id for p in passages if p.score >= 0.5 * passages[0].score} if passages else ()
        )
        found = extractive.candidates(passages, depth)
        extractive.score(
            q,
            vector,
            found,
            self.vectors,
            lexical.weights(q.terms, strong),
            self.weights,
            collection,
        )
        # "What is Kestrel?": the sentence that introduces the name (``definition.py``) leads.
        introducing = definition.defining(question, found)
        if introducing is not None:
            introducing.score = max(c.score for c in found) + 1e-3
        best = extractive.lead(q, found)
        alignment = (
            self.aligner(query, best.text, q.terms, query_tokens) if best else (0.0, 0.0, 0.0)
        )
        signals = abstain.features(q, best, passages, idf, alignment)
        p_answerable = abstain.p_answerable(signals)
        # "Which think tank is Feld from?" asked of "..., said Marcus Feld from the Corbett
        # Institute": a sentence that quotes the person asked about answers (``people.py``).
        threshold = abstain.load_calibration().threshold
        if introducing is not None and best is introducing:
            # the documents say what the name is: that is the answer
            p_answerable = max(p_answerable, threshold)
        elif best is not None and p_answerable < threshold and people.asks_about_person(question):
            record = self.index.registry.get(collection, best.passage.doc_id)
            if record is not None and people.vouches(question, record, best.start, best.end):
                p_answerable = threshold
        return Draft(
            question=q,
            query=query,
            passages=passages,
            candidates=found,
            chosen=extractive.pick(q, found),
            signals=signals,
            p_answerable=p_answerable,
            idf=idf,
            timings={"retrieve_ms": retrieved, "answer_ms": _ms(started) - retrieved},
        )

    def _offline(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None,
        collection: str,
        filters: dict[str, Any] | None,
    ) -> Answer:
        started = time.perf_counter()
        d = self.draft(question, history, collection, filters)
        if not d.chosen or d.p_answerable < abstain.load_calibration().threshold:
            answer = self._abstention(d.question.text, d.passages)
        else:
            answer = self.compose(d, collection)
        answer.search_query = d.query
        answer.confidence = round(d.p_answerable, 4)
        timings = {**d.timings, "total_ms": _ms(started)}
        answer.timings = {k: round(v, 1) for k, v in timings.items()}
        return answer

    def compose(self, d: Draft, collection: str) -> Answer:
        """The answer a draft gives when it is not abstained on: its sentences, cited, and
        the short answer (``short_answer``)."""
        answer = self._cite(d.question.text, d.chosen, collection)
        # "Who is Priya Raman?" is answered by a description, which has no short form here
        if definition.asked_name(d.question.text) is None:
            short_answer.fill(answer, d.question, self.span_reader)
        return answer

    # --- the learned reader (BRIEF_ANSWERER=reader; issue 23, being measured) ------------

    @cached_property
    def reader(self) -> Reader:
        """The learned reader (its model loads on first use, once per process)."""
        return get_reader(self.settings.embed_dtype)

    def _read_offline(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None,
        collection: str,
        filters: dict[str, Any] | None,
    ) -> Answer:
        """Retrieve, choose the windows, read them, compose: the learned reader's pipeline."""
        question = self._clean(question)
        started = time.perf_counter()
        query = followup.resolve(question, history)
        vector, _ = self.index.embedder.embed_query(query)
        passages = self.retriever.retrieve(
            query,
            vector,
            collection,
            k=READ_DEPTH,
            filters=filters,
            per_document=READ_PER_DOCUMENT,
        )
        retrieved = _ms(started)
        idf = self.retriever.lexical(collection).weights(analyse(query).terms)
        chosen = windows.select(
            passages, vector, self.vectors, collection, self.settings.read_windows, idf
        )
        answer = self.compose_read(question, self.read(query, chosen), passages, collection)
        answer.search_query = query
        timings = {"retrieve_ms": retrieved, "answer_ms": _ms(started) - retrieved}
        answer.timings = {k: round(v, 1) for k, v in {**timings, "total_ms": _ms(started)}.items()}
        return answer

    def read(self, question: str, chosen: list[Window]) -> list[Reading]:
        """Each window's best span with its margin and score, best score first (windows
        without one left out)."""
        spans = self.reader.read(question, [w.text for w in chosen])
        # A reader trained on a question's windows together scores "no answer" over all of
        # them (one softmax over every window's pieces): a span's margin is over the windows'
        # joint [CLS] start and end scores, not its own window's.
        shared = self.reader.calibration.shared
        read = [span for span in spans if span is not None]
        joint = (
            float(np.logaddexp.reduce([s.null_start for s in read]))
            + float(np.logaddexp.reduce([s.null_end for s in read]))
            if shared and read
            else 0.0
        )
        found = []
        for w, span in zip(chosen, spans, strict=True):
            if span is None:
                continue
            margin = span.margin
            if shared:
                margin += span.null_start + span.null_end - joint
            score = self.reader.calibration.score(margin, w)
            found.append(Reading(w, w.start + span.start, w.start + span.end, margin, score))
        return windows.combine(found)

    def compose_read(
        self, question: str, readings: list[Reading], passages: list[Passage], collection: str
    ) -> Answer:
        """The answer the readings give (``windows.combine``: best answer first). Below the
        threshold: the abstention, with the closest passages. Else the sentence holding the
        best answer's best span, cited, the span its short answer; and the sentence of the
        best other reading too when its own score also clears the threshold and it is another
        sentence."""
        calibration = self.reader.calibration
        best = readings[0] if readings else None
        if best is None or best.combined < calibration.threshold:
            answer = self._abstention(question, passages)
            answer.confidence = round(calibration.confidence(best.combined), 4) if best else 0.0
            return answer
        picked = windows.quoted(readings, calibration.threshold)
        citations: list[Citation] = []
        sentences: list[Sentence] = []
        for reading in picked:
            passage = reading.window.passage
            start, end = reading.sentence()
            record = self.index.registry.get(collection, passage.doc_id)
            quote = passage.at(start, end)
            citation = Citation(
                n=len(citations) + 1,
                doc_id=passage.doc_id,
                title=passage.title,
                source=passage.source,
                location=(
                    location_at(record.text, record.layout, start, record.title)
                    if record
                    else passage.location
                ),
                quote=quote,
                start=start,
                end=end,
                score=round(reading.score, 4),
                supported=True,
            )
            citations.append(citation)
            sentences.append(Sentence(text=quote, citations=[citation.n], supported=True))
        text = " ".join(s.text + markers(s) for s in sentences)
        answer = Answer(question=question, text=text, citations=citations, sentences=sentences)
        first = citations[0]
        answer.set_short(first, best.start - first.start, best.end - first.start)
        answer.confidence = round(calibration.confidence(best.combined), 4)
        return answer

    @cached_property
    def writer(self) -> LLMWriter:
        """The chat-model writer (built when ``BRIEF_LLM`` is set)."""
        return LLMWriter(self.settings)

    def _with_model(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None,
        collection: str,
        filters: dict[str, Any] | None,
    ) -> Iterator[Event]:
        question = self._clean(question)
        started = time.perf_counter()
        query = self.writer.rewrite(question, history) if history else question
        vector = self.index.embedder.embed_one(query)
        passages = self.retriever.retrieve(
            query, vector, collection, k=self.settings.top_k, filters=filters
        )
        retrieved = _ms(started)
        if not passages:
            answer = self._abstention(question, passages)
        else:
            # Each sentence the model writes is checked as soon as it is whole, and shown only
            # if a passage supports it; the rest are dropped, reported and logged.
            verifier = Verifier(passages, question, self._finder)
            reply = Reply()
            said_not_found = False
            for raw in sentences_of(self.writer.write(question, passages, history, reply)):
                if MARKER.sub("", raw).strip().startswith(NOT_FOUND.rstrip(".")):
                    said_not_found = True  # the reply the prompt asks for: not a claim
                    continue
                kept = verifier.check(raw)
                if kept is not None:
                    space = " " if len(verifier.sentences) > 1 else ""
                    yield TextDelta(space + kept.text + markers(kept))
            if reply.empty:  # nothing, or no text at all: the model failed, not the documents
                log.error("the chat model's reply had no text (question %r)", question[:200])
                raise ModelError("the chat model replied with no text; try again, or check it")
            answer = self._verified(verifier, question, passages, collection)
            for d in answer.dropped:
                log.info("dropped a sentence of the chat model (%s): %r", d.reason, d.text[:200])
            if said_not_found and not verifier.sentences:
                answer.dropped = []  # it said so, as asked
        if answer.abstained:
            yield TextDelta(answer.text)  # streamed as the offline abstention is
        answer.search_query = query
        answer.timings = {
            "retrieve_ms": round(retrieved, 1),
            "answer_ms": round(_ms(started) - retrieved, 1),
            "total_ms": round(_ms(started), 1),
        }
        for citation in answer.citations:
            yield CitationEvent(citation)
        yield Done(answer)

    def _finder(self, question: str, texts: list[str]) -> list[tuple[int, int, float] | None]:
        """The reader's answer in each text, for the verifier to check a bare answer by."""
        return [
            None if s is None else (s.start, s.end, s.margin)
            for s in self.reader.read(question, texts)
        ]

    def _verified(
        self, verifier: Verifier, question: str, passages: list[Passage], collection: str
    ) -> Answer:
        """The answer of the sentences verification kept, or the abstention if it kept none;
        what it dropped is reported with it."""
        if not verifier.sentences:
            answer = self._abstention(question, passages)
            answer.dropped = verifier.dropped
            return answer
        for citation in verifier.citations:
            record = self.index.registry.get(collection, citation.doc_id)
            if record is not None:
                citation.location = location_at(
                    record.text, record.layout, citation.start, record.title
                )
        answer = Answer(
            question=question,
            text=verifier.text(),
            citations=verifier.citations,
            sentences=verifier.sentences,
            dropped=verifier.dropped,
        )
        self._short_of_sentences(answer, analyse(question))
        return answer

    def _short_of_sentences(self, answer: Answer, question: Question) -> None:
        """The short answer of a written answer: words of its first verified sentence that
        answer the question (the sentence itself when it is a few words: "Pune"), given
        where its citation quotes them; none if no quote holds them. Never words of a quote
        that the sentence does not say ("14 miles" of a quote for the reply "180 beds")."""
        first = answer.sentences[0]
        words = first.text.rstrip(" .")
        said = words
        if len(words.split()) > FRAGMENT:
            probe = Answer(
                question=question.text,
                text=first.text,
                citations=[replace(answer.citations[first.citations[0] - 1], quote=first.text)],
            )
            short_answer.fill(probe, question, self.span_reader)
            said = probe.short or ""
        for n in first.citations if said else []:
            citation = answer.citations[n - 1]
            at = citation.quote.find(said)
            if at >= 0:
                answer.set_short(citation, at, at + len(said))
                return

    def _abstention(self, question: str, passages: list[Passage]) -> Answer:
        return Answer(
            question=question,
            text=ABSTAIN_TEXT,
            abstained=True,
            related=passages[:3],
            sentences=[Sentence(text=ABSTAIN_TEXT, citations=[], supported=True)],
        )

    def _cite(self, question: str, chosen: list[extractive.Candidate], collection: str) -> Answer:
        citations: list[Citation] = []
        sentences: list[Sentence] = []
        records: dict[str, Any] = {}
        for cand in chosen:
            doc_id = cand.passage.doc_id
            if doc_id not in records:
                records[doc_id] = self.index.registry.get(collection, doc_id)
            record = records[doc_id]
            where = (
                location_at(record.text, record.layout, cand.start, record.title)
                if record
                else cand.passage.location
            )
            citation = Citation(
                n=len(citations) + 1,
                doc_id=doc_id,
                title=cand.passage.title,
                source=cand.passage.source,
                location=where,
                quote=cand.text,
                start=cand.start,
                end=cand.end,
                score=round(cand.score, 4),
                supported=True,
            )
            citations.append(citation)
            sentences.append(Sentence(text=cand.text, citations=[citation.n], supported=True))
        text = " ".join(s.text + markers(s) for s in sentences)
        return Answer(question=question, text=text, citations=citations, sentences=sentences)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
