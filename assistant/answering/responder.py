"""From a question to a cited answer (or an abstention), as events or as one Answer.

The offline path, top to bottom in ``_offline``, each step one module:

1. clean: control characters out, length checked (``clean_question``, here);
2. route: an overview question ("What are the main points?") goes to the briefing's key
   points (given by ``Assistant``); a chat model (``BRIEF_LLM``) takes the other path below;
3. retrieve: a follow-up resolved against the conversation (``followup.py``), then hybrid
   search for ``read_passages`` passages (``retriever.py``);
4. choose: the windows worth reading, a sentence and its neighbours (``windows.py``);
5. read: the learned reader marks each window's answer span with its margin (``reader.py``);
6. compose: the sentence holding the best span, cited, with the span as the short answer, or
   the abstention when no margin clears the reader's one threshold (``compose``, here).

With a chat model the passages go to the model (``llm.py``), and what it writes is verified
against them (``verify.py``); the reader then marks the short answer in a verified quote.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import Any

from assistant.answering import followup, windows
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
from assistant.answering.llm import LLMWriter
from assistant.answering.question import key_terms
from assistant.answering.reader import Reader, get_reader
from assistant.answering.retriever import Retriever
from assistant.answering.verify import MARKER, verify
from assistant.answering.windows import Reading, Window
from assistant.errors import QuestionError
from assistant.index.passages import Passage, location_at
from assistant.index.store import Index
from assistant.settings import Settings

#: Passages of one document the reader may choose sentences from: more than retrieval's own
#: cap (3), since the sentence that answers often sits beside the passages that match best
#: (measured by ``bench/windows.py`` on held-out news: 3 -> 6 shows the answer to more).
READ_PER_DOCUMENT = 6

ABSTAIN_TEXT = NOT_FOUND + " None of the passages found answers this question."
# Control characters (a NUL, a terminal's escape) and lone surrogates, which no text encoding
# can carry ("\ud800" is valid JSON): they mean nothing in a question, and a lone surrogate
# made the tokenizer fail.
_UNREADABLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")


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
        self.vectors = windows.SentenceVectors(index.embedder, index.registry)
        #: The learned reader (its model loads on first use, once per process).
        self.reader: Reader = get_reader(settings.embed_dtype)

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
        yield from events(self._offline(question, history, collection, filters))

    # --- steps ---------------------------------------------------------------------------

    def _clean(self, question: str) -> str:
        return clean_question(question, self.settings.max_question_chars)

    def _offline(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None,
        collection: str,
        filters: dict[str, Any] | None,
    ) -> Answer:
        question = self._clean(question)
        started = time.perf_counter()
        query = followup.resolve(question, history)
        vector = self.index.embedder.embed_query(query)
        passages = self.retriever.retrieve(
            query,
            vector,
            collection,
            k=self.settings.read_passages,
            filters=filters,
            per_document=READ_PER_DOCUMENT,
        )
        retrieved = _ms(started)
        idf = self.retriever.lexical(collection).weights(key_terms(query))
        chosen = windows.select(
            passages, vector, self.vectors, collection, self.settings.read_windows, idf
        )
        answer = self.compose(question, self.read(query, chosen), passages, collection)
        answer.search_query = query
        timings = {"retrieve_ms": retrieved, "answer_ms": _ms(started) - retrieved}
        answer.timings = {k: round(v, 1) for k, v in {**timings, "total_ms": _ms(started)}.items()}
        return answer

    def read(self, question: str, chosen: list[Window]) -> list[Reading]:
        """Each window's best span, by margin, best first (windows without one left out)."""
        spans = self.reader.read(question, [w.text for w in chosen])
        found = [
            Reading(w, w.start + span.start, w.start + span.end, span.margin)
            for w, span in zip(chosen, spans, strict=True)
            if span is not None
        ]
        return sorted(found, key=lambda r: -r.margin)

    def compose(
        self, question: str, readings: list[Reading], passages: list[Passage], collection: str
    ) -> Answer:
        """The answer the readings give. Below the threshold: the abstention, with the closest
        passages. Else the sentence holding the best span, cited, the span its short answer;
        and the sentence of the next best span too when it also clears the threshold and says
        something else (another sentence), since the two corroborate or complete each other."""
        calibration = self.reader.calibration
        best = readings[0] if readings else None
        if best is None or best.margin < calibration.threshold:
            answer = self._abstention(question, passages)
            answer.confidence = round(calibration.confidence(best.margin), 4) if best else 0.0
            return answer
        picked = [best]
        for other in readings[1:2]:
            if other.margin >= calibration.threshold and not other.overlaps(best):
                picked.append(other)
        answer = self._cite(question, picked, collection)
        quote = answer.citations[0]
        answer.set_short(quote, best.start - quote.start, best.end - quote.start)
        answer.confidence = round(calibration.confidence(best.margin), 4)
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
            raw = []
            for piece, shown in self.writer.write(question, passages, history):
                raw.append(piece)
                if shown:
                    yield TextDelta(shown)
            answer = self._checked("".join(raw), question, passages, collection)
        answer.search_query = query
        answer.timings = {
            "retrieve_ms": round(retrieved, 1),
            "answer_ms": round(_ms(started) - retrieved, 1),
            "total_ms": round(_ms(started), 1),
        }
        for citation in answer.citations:
            yield CitationEvent(citation)
        yield Done(answer)

    def _checked(
        self, written: str, question: str, passages: list[Passage], collection: str
    ) -> Answer:
        """A model's answer after verification, or an abstention if it found nothing."""
        plain = " ".join(MARKER.sub("", written).split())
        if not plain or plain.startswith(NOT_FOUND.rstrip(".")):
            return self._abstention(question, passages)
        text, citations, sentences = verify(written, passages)
        for citation in citations:
            record = self.index.registry.get(collection, citation.doc_id)
            if record is not None:
                citation.location = location_at(
                    record.text, record.layout, citation.start, record.title
                )
        answer = Answer(question=question, text=text, citations=citations, sentences=sentences)
        self._short_from_quotes(answer)
        return answer

    def _short_from_quotes(self, answer: Answer) -> None:
        """The short answer of a written answer: the reader's best span in the quotes of its
        supported sentences, if it clears the threshold."""
        quotes = [c for c in answer.citations if c.supported]
        spans = self.reader.read(answer.question, [c.quote for c in quotes])
        found = [(s.margin, c, s) for c, s in zip(quotes, spans, strict=True) if s is not None]
        if found:
            margin, citation, span = max(found, key=lambda x: x[0])
            if margin >= self.reader.calibration.threshold:
                answer.set_short(citation, span.start, span.end)

    def _abstention(self, question: str, passages: list[Passage]) -> Answer:
        return Answer(
            question=question,
            text=ABSTAIN_TEXT,
            abstained=True,
            related=passages[:3],
            sentences=[Sentence(text=ABSTAIN_TEXT, citations=[], supported=True)],
        )

    def _cite(self, question: str, picked: list[Reading], collection: str) -> Answer:
        """An answer quoting the sentence of each reading, one citation each."""
        citations: list[Citation] = []
        sentences: list[Sentence] = []
        records: dict[str, Any] = {}
        for reading in picked:
            passage = reading.window.passage
            start, end = reading.sentence()
            if passage.doc_id not in records:
                records[passage.doc_id] = self.index.registry.get(collection, passage.doc_id)
            record = records[passage.doc_id]
            quote = passage.text[start - passage.start : end - passage.start]
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
                score=round(reading.margin, 4),
                supported=True,
            )
            citations.append(citation)
            sentences.append(Sentence(text=quote, citations=[citation.n], supported=True))
        text = " ".join(s.text + markers(s) for s in sentences)
        return Answer(question=question, text=text, citations=citations, sentences=sentences)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
