"""Passages: chunks of documents as a reader meets them, with a location in plain words."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from assistant.index.registry import DocumentRecord


@dataclass
class Passage:
    """A stretch of a document: ``document_text[start:end] == text``."""

    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    location: str
    score: float
    chunk: int = 0
    date: str | None = None
    page: int | None = None
    heading: str | None = None
    #: The evidence behind ``score``: cosine similarity and BM25 score, when known.
    dense: float | None = None
    lexical: float | None = None
    #: Content hash of the document version the passage belongs to.
    version: str | None = None

    def at(self, start: int, end: int) -> str:
        """The passage's words at document offsets ``start:end`` (inside the passage)."""
        return self.text[start - self.start : end - self.start]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return asdict(self)

    @classmethod
    def from_chunk(cls, text: str, meta: dict[str, Any], score: float) -> Passage:
        """A passage from a stored chunk and its metadata."""
        return cls(
            doc_id=str(meta["doc_id"]),
            title=str(meta.get("title") or "Untitled"),
            source=str(meta.get("source") or ""),
            text=text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            location=location(meta),
            score=round(float(score), 4),
            chunk=int(meta.get("chunk", 0)),
            date=meta.get("date") or None,
            page=meta.get("page"),
            heading=meta.get("heading"),
            version=meta.get("hash"),
        )


def location(meta: dict[str, Any]) -> str:
    """Where a chunk is, as a person would say it: "page 4", "Findings > Costs", "paragraph 7"."""
    page, page_end = meta.get("page"), meta.get("page_end")
    if page is not None:
        where = f"page {page}" if not page_end or page_end == page else f"pages {page}-{page_end}"
        if meta.get("heading"):
            where += f", {meta['heading']}"
        return where
    if meta.get("heading"):
        return str(meta["heading"])
    return f"paragraph {meta.get('para', 1)}"


def below_title(heading: str | None, title: str) -> str | None:
    """A heading path without its first step when that step is the document's own title."""
    if not heading:
        return None
    first, _, rest = heading.partition(" > ")
    if " ".join(first.split()) == title:
        return rest or None
    return heading


def location_at(text: str, layout: dict[str, Any], offset: int, title: str = "") -> str:
    """Where ``offset`` of a document's text is, as a person would say it (see ``location``)."""
    pages = layout.get("pages") or []
    sections = layout.get("sections") or []
    page = next((p for s, p in reversed(pages) if s <= offset), None)
    heading = next((h for s, h in reversed(sections) if s <= offset), None)
    meta: dict[str, Any] = {"para": text.count("\n\n", 0, offset) + 1}
    if page is not None:
        meta["page"] = page
    heading = below_title(heading, title)
    if heading:
        meta["heading"] = heading
    return location(meta)


@dataclass
class DocumentSentence:
    """A sentence of a document, in document offsets."""

    doc: DocumentRecord
    #: Position of the document in the collection's list, and of the sentence in its document.
    doc_rank: int
    position: int
    start: int
    end: int
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())
