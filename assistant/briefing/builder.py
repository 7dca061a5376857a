"""Building a briefing of a collection: the sections, their order, their citations.

Offline, every item is the sources' own words: key points and open questions are whole
sentences, statements and figures are read off sentences, and each cites the sentence it came
from. With a chat model, the key points and open questions are written by map-reduce over the
documents (``assistant/briefing/mapreduce.py``) and checked like answers; the structured
sections stay extracted, since a pattern quoting the source cannot misquote it.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from cachetools import LRUCache

from assistant.answering import attribution
from assistant.answering.question import analyse
from assistant.answering.retriever import Retriever
from assistant.briefing import conflicts, figures, keypoints
from assistant.briefing.items import Briefing, Event, Figure, Point, Statement
from assistant.briefing.sources import Citer, Material
from assistant.index.passages import DocumentSentence
from assistant.index.registry import DocumentRecord
from assistant.index.store import Index

if TYPE_CHECKING:
    # the chat model's modules load only when one is configured
    from assistant.briefing.mapreduce import ModelWriter

T = TypeVar("T")

#: Weight of each kind of figure when only the most important can be listed.
#: Money is what a briefing's reader asks about first; a bare count least.
_KIND_WEIGHT = {"amount": 3.0, "percent": 1.2, "count": 0.4, "date": 0.5}
MAX_STATEMENTS = 40
MAX_EVENTS = 20
#: Briefings kept per (collection, generation, focus, writer); a new document invalidates them.
CACHE_SIZE = 16


class Briefer:
    """Briefings of the collections of one store."""

    def __init__(
        self, index: Index, retriever: Retriever, writer: ModelWriter | None = None
    ) -> None:
        self.index = index
        self.retriever = retriever
        #: A ``mapreduce.ModelWriter`` when a chat model is configured, else None.
        self.writer = writer
        #: Briefings by (collection, generation, focus, writer); under ``_cache_lock`` only.
        self._cache: LRUCache[tuple[str, int, str | None, bool], Briefing] = LRUCache(
            maxsize=CACHE_SIZE
        )
        self._cache_lock = threading.Lock()

    def brief(self, collection: str, focus: str | None = None) -> Briefing:
        """The briefing of ``collection``, narrowed to ``focus`` when one is given."""
        focus = " ".join((focus or "").split()) or None
        key = (collection, self.index.registry.generation(collection), focus, bool(self.writer))
        with self._cache_lock:
            briefing = self._cache.get(key)
        if briefing is None:
            briefing = self._build(collection, focus)
            with self._cache_lock:
                self._cache[key] = briefing
        return briefing

    def _relevance(self, material: Material, collection: str, focus: str) -> np.ndarray:
        """Each sentence's closeness to the focus (``keypoints.relevance``), using the
        passages hybrid search scores at least half as high as its best one for it."""
        vector = self.index.embedder.embed_one(focus)
        k = min(60, 3 + 2 * len(material.records))
        passages = self.retriever.retrieve(focus, vector, collection, k=k)
        near = {
            (s.doc.doc_id, s.start)
            for p in passages
            if p.score >= 0.5 * passages[0].score
            for s in material.sentences
            if s.doc.doc_id == p.doc_id and p.start <= s.start < p.end
        }
        return keypoints.relevance(material, vector, analyse(focus).terms, near)

    def _build(self, collection: str, focus: str | None) -> Briefing:
        started = time.perf_counter()
        registry = self.index.registry
        read = [registry.get(collection, r.doc_id) for r in registry.list(collection)]
        records = [r for r in read if r is not None]
        briefing = Briefing(collection=collection, focus=focus, documents=len(records))
        if not records:
            return briefing
        material = Material(collection, records, registry, self.index.embedder)
        timings = {"read_ms": _ms(started)}
        scores = keypoints.importance(material)
        wanted = np.ones(len(material.sentences), dtype=bool)
        if focus:
            rel = self._relevance(material, collection, focus)
            wanted = keypoints.on_focus(rel)
            scores = scores + 4.0 * rel
        index_of = {id(s): i for i, s in enumerate(material.sentences)}

        def about(sentences: list[DocumentSentence]) -> bool:
            return any(wanted[index_of[id(s)]] for s in sentences)

        usable = np.array([keypoints.usable(s) for s in material.sentences], dtype=bool)
        limit = keypoints.point_count(len(records))
        key_idx = keypoints.select(
            material, scores, usable & wanted, limit, per_document=-(-limit // len(records)) + 1
        )
        everyone = [s for doc in _per_document(material) for s in attribution.statements(doc)]
        said = [s for s in everyone if about(s.sentences)]
        said = _top(said, lambda s: max(scores[index_of[id(x)]] for x in s.sentences))
        found = [
            f
            for i, s in enumerate(material.sentences)
            if wanted[i] and keypoints.usable_for_timeline(s)  # not in titles and headers
            for f in figures.figures(s)
        ]
        found = _dedupe_figures(found)
        numbers = _rank_figures(
            [f for f in found if f.kind != "date"], scores, index_of, _figure_cap(len(records))
        )
        dates = _rank_figures([f for f in found if f.kind == "date"], scores, index_of, MAX_EVENTS)
        doubt = np.array([keypoints.doubt(s) for s in material.sentences], dtype=np.float32)
        open_idx = keypoints.select(
            material,
            scores + 3.0 * doubt,
            (doubt >= 0.6) & wanted & (usable | (doubt >= 1.0)),
            min(8, 3 + len(records) // 10),
            taken=set(key_idx),
        )
        timings["extract_ms"] = _ms(started) - timings["read_ms"]

        speakers = {id(x): s.speaker for s in everyone for x in s.sentences}
        citer = Citer()
        written: list[Point] = []
        asked: list[Point] = []
        if self.writer is not None:
            written, asked = self.writer.write(material, wanted, focus, citer)
            briefing.written_by = self.writer.name
            timings["model_ms"] = _ms(started) - timings["read_ms"] - timings["extract_ms"]
        # Where the model's lines all failed verification, the sources' own sentences stand in.
        briefing.key_points = written or [
            Point(material.sentences[i].text, citer.sentence(material.sentences[i]))
            for i in key_idx
        ]
        briefing.who_said_what = _statements(said, everyone, citer)
        briefing.key_figures = [
            Figure(f.value, f.kind, f.measures, f.context, citer.sentence(f.sentence))
            for f in sorted(numbers + dates, key=_reading_order)
        ]
        briefing.timeline = _timeline(
            dates, [r for r in records if r.doc_id in _documents(material, wanted)], citer
        )
        briefing.open_questions = [
            Point(c.text, citer.sentence(c.first.sentence) + citer.sentence(c.second.sentence))
            for c in conflicts.conflicts(found, material.vectors, index_of)
        ] + (
            asked
            or [
                Point(
                    _named(material.sentences[i], speakers),
                    citer.sentence(material.sentences[i]),
                )
                for i in open_idx
            ]
        )
        briefing.citations = citer.citations
        _check(briefing, {r.doc_id: r for r in records})
        timings["total_ms"] = _ms(started)
        briefing.timings = {k: round(v, 1) for k, v in timings.items()}
        return briefing


def _per_document(material: Material) -> list[list[DocumentSentence]]:
    return [[material.sentences[i] for i in idx] for idx in material.by_document().values()]


def _top(items: list[T], score: Callable[[T], float], limit: int = MAX_STATEMENTS) -> list[T]:
    """The ``limit`` best items by ``score``, kept in their original order."""
    if len(items) <= limit:
        return items
    keep = set(sorted(range(len(items)), key=lambda i: -score(items[i]))[:limit])
    return [x for i, x in enumerate(items) if i in keep]


def _statements(
    said: list[attribution.Said], everyone: list[attribution.Said], citer: Citer
) -> list[Statement]:
    """Statements grouped by speaker in order of first appearance, each speaker described once
    (the roles and the first affiliation any of their statements gives)."""
    roles: dict[str, list[str]] = {}
    affiliation: dict[str, str] = {}
    order: dict[str, int] = {}
    for s in said:
        order.setdefault(s.speaker, len(order))
    for s in everyone:
        if s.role and s.role not in roles.setdefault(s.speaker, []):
            roles[s.speaker].append(s.role)
        if s.affiliation:
            affiliation.setdefault(s.speaker, s.affiliation)
    out = []
    for s in sorted(said, key=lambda x: order[x.speaker]):
        first, last = s.sentences[0], s.sentences[-1]
        n = citer.cite(first.doc, first.start, last.end)
        out.append(
            Statement(
                speaker=s.speaker,
                quote=s.quote,
                quoted=s.quoted,
                affiliation=affiliation.get(s.speaker),
                role="; ".join(roles.get(s.speaker, [])[:2]) or None,
                citations=[n],
            )
        )
    return out


def _dedupe_figures(found: list[figures.Found]) -> list[figures.Found]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for f in found:
        key = (f.sentence.doc.doc_id, f.value.lower(), f.measures.lower())
        if f.kind == "date":
            key = (f.sentence.doc.doc_id, f.sentence.text, "")
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _figure_cap(documents: int) -> int:
    return int(min(30, max(12, 3 * documents)))


def _rank_figures(
    found: list[figures.Found], scores: np.ndarray, index_of: dict[int, int], limit: int
) -> list[figures.Found]:
    """The ``limit`` figures that matter most, spread over the documents: each document's best
    in turn (documents with the weightiest figures first), then each one's second, and so on."""

    def weight(f: figures.Found) -> float:
        return float(scores[index_of[id(f.sentence)]]) + 2.0 * _KIND_WEIGHT.get(f.kind, 0.5)

    by_doc: dict[str, list[figures.Found]] = {}
    for f in sorted(found, key=weight, reverse=True):
        by_doc.setdefault(f.sentence.doc.doc_id, []).append(f)
    queues = sorted(by_doc.values(), key=lambda q: weight(q[0]), reverse=True)
    chosen: list[figures.Found] = []
    depth = 0
    while len(chosen) < limit and any(len(q) > depth for q in queues):
        chosen += [q[depth] for q in queues if len(q) > depth][: limit - len(chosen)]
        depth += 1
    return chosen


def _reading_order(f: figures.Found) -> tuple[int, int, int]:
    return (f.sentence.doc_rank, f.sentence.position, f.start)


_PRONOUN_START = re.compile(r"^(?:He|She)\b")


def _named(sentence: DocumentSentence, speakers: dict[int, str]) -> str:
    """The sentence, with a leading "He"/"She" replaced by "[speaker]" when the attribution
    patterns resolved it ("[Samm Sacks] questioned whether ..."); the citation keeps the
    source's own words."""
    who = speakers.get(id(sentence))
    if who and _PRONOUN_START.match(sentence.text):
        return _PRONOUN_START.sub(f"[{who}]", sentence.text, count=1)
    return sentence.text


def _human_date(iso: str) -> str:
    """ "2026-03-14" as "14 March 2026" (other forms unchanged)."""
    try:
        day = datetime.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _documents(material: Material, wanted: np.ndarray) -> set[str]:
    return {s.doc.doc_id for i, s in enumerate(material.sentences) if wanted[i]}


def _timeline(
    dates: list[figures.Found], records: list[DocumentRecord], citer: Citer
) -> list[Event]:
    """Dated sentences in date order, with each dated document's publication."""
    entries: list[
        tuple[str, str, str, DocumentSentence | None, tuple[DocumentRecord, int] | None]
    ] = []
    for f in dates:
        if not keypoints.usable_for_timeline(f.sentence):
            continue
        entries.append((f.sort_key, f.value, f.sentence.text, f.sentence, None))
    for record in records:
        if not record.date:
            continue
        at = record.text.find(record.title) if record.title else -1
        if at < 0:
            continue
        entries.append(
            (
                record.date[:10],
                _human_date(record.date),
                f"Published: {record.title}",
                None,
                (record, at),
            )
        )
    entries.sort(key=lambda e: (e[0], e[1]))
    events = []
    for sort_key, date, text, sentence, published in entries[:MAX_EVENTS]:
        if sentence is not None:
            cites = citer.sentence(sentence)
        else:
            assert published is not None  # an entry has its sentence or its publication
            record, at = published
            cites = [citer.cite(record, at, at + len(record.title))]
        events.append(Event(date=date, sort_key=sort_key, text=text, citations=cites))
    return events


def _check(briefing: Briefing, records: dict[str, DocumentRecord]) -> None:
    """Every citation quotes its document verbatim; an item whose citation does not is dropped."""
    bad = {
        c.n
        for c in briefing.citations
        if c.doc_id not in records or records[c.doc_id].text[c.start : c.end] != c.quote
    }
    if not bad:
        return
    for section in ("key_points", "who_said_what", "key_figures", "timeline", "open_questions"):
        items = getattr(briefing, section)
        setattr(briefing, section, [x for x in items if not bad.intersection(x.citations)])


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
