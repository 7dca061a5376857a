"""Key points and open questions written by a chat model: map-reduce over the collection.

Map: each document (in groups of passages of a few sentences, a dozen passages per call) gets
one call asking for its key points and open questions with passage markers
(``prompts/brief_map.md``). Every line is checked like an answer
(``assistant/answering/verify.py``): a sentence its cited passage does not support is dropped,
and each kept sentence cites the span of the document that supports it. Reduce: when the notes
are more than the briefing's points, one more call merges them (``prompts/brief_reduce.md``),
citing notes; each note marker becomes the citations of that note and the merged sentence is
checked again against those quotes. Nothing the model writes reaches the briefing without a
verified citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.answering.answer import Citation
from assistant.answering.llm import LLMWriter, echoes_prompt, passages_block
from assistant.answering.prompts import render
from assistant.answering.verify import verify
from assistant.briefing import keypoints
from assistant.briefing.items import Point
from assistant.briefing.sources import Citer, Material
from assistant.errors import ModelUnavailable
from assistant.index.passages import DocumentSentence, Passage, location_at
from assistant.index.store import Index
from assistant.settings import Settings

#: A map passage: consecutive sentences up to about this many characters.
PASSAGE_CHARS = 1200
#: Passages per map call (about 3,500 tokens of material).
PASSAGES_PER_CALL = 12
POINTS_PER_CALL, QUESTIONS_PER_CALL = 4, 2
_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\?)\s+")


@dataclass
class Note:
    """A checked line: its sentences, each with the citations that support it."""

    sentences: list[tuple[str, list[Citation]]]
    question: bool

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.sentences)

    @property
    def citations(self) -> list[Citation]:
        return [c for _, cites in self.sentences for c in cites]


class ModelWriter:
    """Writes a briefing's key points and open questions with the configured chat model."""

    def __init__(self, settings: Settings, index: Index) -> None:
        self.settings = settings
        self.index = index
        self.llm = LLMWriter(settings)
        self.name = settings.llm or "model"
        #: Sentences the model wrote that verification dropped, in the last briefing.
        self.dropped = 0

    def write(
        self,
        material: Material,
        wanted: np.ndarray,
        focus: str | None,
        citer: Citer,
    ) -> tuple[list[Point], list[Point]]:
        """(key points, open questions), each sentence verified and cited."""
        self.dropped = 0
        groups = _groups(material, wanted)
        if not groups:
            return [], []
        limit = keypoints.point_count(len(material.records))
        focus_words = f" about {focus}" if focus else ""
        replies = self._call(
            [
                [
                    (
                        "system",
                        render(
                            "brief_map",
                            focus=focus_words,
                            points=str(POINTS_PER_CALL),
                            questions=str(QUESTIONS_PER_CALL),
                        ),
                    ),
                    (
                        "human",
                        render(
                            "brief_passages",
                            kind="Passages from the user's document",
                            passages=passages_block(g),
                        ),
                    ),
                ]
                for g in groups
            ]
        )
        notes: list[Note] = []
        for passages, reply in zip(groups, replies, strict=True):
            if echoes_prompt(reply, [p.text for p in passages] + [p.title for p in passages]):
                continue
            notes += self._checked(reply, passages)
        points = [n for n in notes if not n.question]
        questions = [n for n in notes if n.question]
        if len(groups) > 1 and points:
            points, merged_questions = self._reduce(points + questions, limit, focus_words)
            questions = merged_questions or questions
        records = {r.doc_id: r for r in material.records}

        def point(note: Note) -> Point:
            parts, numbers = [], []
            for text, cites in note.sentences:
                ns = [citer.cite(records[c.doc_id], c.start, c.end, c.score) for c in cites]
                parts.append(text + "".join(f" [{n}]" for n in ns))
                numbers += ns
            return Point(" ".join(parts), list(dict.fromkeys(numbers)))

        return [point(n) for n in points[:limit]], [point(n) for n in questions[:5]]

    def _call(self, conversations: list[list[tuple[str, str]]]) -> list[str]:
        try:
            replies = self.llm.model.batch([*conversations], config={"max_concurrency": 4})
        except ModelUnavailable:
            raise
        except Exception as exc:  # network, auth, rate limit: one clear error for the caller
            raise ModelUnavailable(f"the chat model failed: {type(exc).__name__}: {exc}") from exc
        return [_content(r) for r in replies]

    def _checked(self, reply: str, passages: list[Passage]) -> list[Note]:
        """The reply's lines that verification keeps, as notes."""
        notes = []
        for line in reply.splitlines():
            bullet = _LINE.match(line)
            if not bullet:
                continue
            question = bullet.group(0).strip() == "?"
            _, citations, sentences = verify(line[bullet.end() :].strip(), passages)
            kept = []
            for s in sentences:
                if s.supported and s.citations:
                    kept.append((s.text, [citations[n - 1] for n in s.citations]))
                else:
                    self.dropped += 1
            if kept:
                notes.append(Note(kept, question))
        return notes

    def _reduce(
        self, notes: list[Note], limit: int, focus_words: str
    ) -> tuple[list[Note], list[Note]]:
        """The notes merged by the model into at most ``limit`` points, checked again."""
        pool: list[Passage] = []
        where: dict[tuple[str, int, int], int] = {}
        for note in notes:
            for c in note.citations:
                key = (c.doc_id, c.start, c.end)
                if key not in where:
                    where[key] = len(pool) + 1
                    pool.append(_passage(c))
        listing = "\n".join(f"[{i}] {n.text}" for i, n in enumerate(notes, start=1))
        (reply,) = self._call(
            [
                [
                    (
                        "system",
                        render(
                            "brief_reduce",
                            focus=focus_words,
                            points=str(limit),
                            questions=str(QUESTIONS_PER_CALL + 1),
                        ),
                    ),
                    ("human", render("brief_passages", kind="Notes", passages=listing)),
                ]
            ]
        )
        if echoes_prompt(reply, [n.text for n in notes]):
            return notes[:limit], []

        def remap(match: re.Match[str]) -> str:
            k = int(match.group(1))
            if not 1 <= k <= len(notes):
                return match.group(0)  # verification removes it
            cites = notes[k - 1].citations
            return "".join(f" [{where[(c.doc_id, c.start, c.end)]}]" for c in cites)

        lines = [
            line if not _LINE.match(line) else re.sub(r"\s?\[(\d{1,3})\]", remap, line)
            for line in reply.splitlines()
        ]
        merged = self._checked("\n".join(lines), pool)
        points = [n for n in merged if not n.question] or notes[:limit]
        return points, [n for n in merged if n.question]


def _passage(c: Citation) -> Passage:
    return Passage(
        doc_id=c.doc_id,
        title=c.title,
        source=c.source,
        text=c.quote,
        start=c.start,
        end=c.end,
        location=c.location,
        score=c.score,
    )


def _groups(material: Material, wanted: np.ndarray) -> list[list[Passage]]:
    """Each document's wanted sentences as passages of consecutive sentences, in calls of
    ``PASSAGES_PER_CALL`` passages."""
    groups: list[list[Passage]] = []
    for idx in material.by_document().values():
        run: list[DocumentSentence] = []
        passages: list[Passage] = []
        for i in idx:
            s = material.sentences[i]
            if not wanted[i]:
                continue
            joined = run and (
                s.position != run[-1].position + 1 or s.end - run[0].start > PASSAGE_CHARS
            )
            if joined:
                passages.append(_from_sentences(run))
                run = []
            run.append(s)
        if run:
            passages.append(_from_sentences(run))
        for k in range(0, len(passages), PASSAGES_PER_CALL):
            groups.append(passages[k : k + PASSAGES_PER_CALL])
    return groups


def _from_sentences(run: list[DocumentSentence]) -> Passage:
    doc = run[0].doc
    start, end = run[0].start, run[-1].end
    return Passage(
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        text=doc.text[start:end],
        start=start,
        end=end,
        location=location_at(doc.text, doc.layout, start, doc.title),
        score=1.0,
        version=doc.content_hash,
    )


def _content(reply: object) -> str:
    """The text of a chat model's reply (a string, or a list of content blocks)."""
    content = getattr(reply, "content", reply)
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")
