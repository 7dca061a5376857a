"""Sentence-aware chunking that never exceeds the embedding model's window.

A chunk is a span of whole sentences of one section, ``text[start:end]`` of the document, of
about ``target`` model tokens and never more than ``limit``. The next chunk repeats the last
sentences of the previous one, up to ``overlap`` tokens, so a statement cut by a boundary is
still found whole. A sentence longer than ``limit`` on its own is cut at token boundaries.
Tokens are counted with the model's own tokenizer.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.text.sentences import sentence_spans


class Counter(Protocol):
    def count(self, texts: list[str]) -> list[int]: ...
    def offsets(self, text: str) -> list[tuple[int, int]]: ...


@dataclass
class Chunk:
    """A passage of a document: ``document_text[start:end] == text``."""

    index: int
    start: int
    end: int
    text: str
    tokens: int
    page: int | None = None
    page_end: int | None = None
    heading: str | None = None
    #: The chunk's sentences (or pieces of an overlong one), in document offsets.
    sentences: list[tuple[int, int]] = field(default_factory=list)


def _sections(text: str, layout: dict[str, Any]) -> list[tuple[int, int, str | None]]:
    """(start, end, heading path) of each section; one section when the document has none."""
    marks: list[tuple[int, str | None]] = [(int(s), str(h)) for s, h in layout.get("sections", [])]
    if not marks or marks[0][0] > 0:
        marks.insert(0, (0, None))
    out: list[tuple[int, int, str | None]] = []
    for i, (start, heading) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        if end > start:
            out.append((start, end, heading))
    return out


def _pieces(
    text: str, spans: list[tuple[int, int]], counts: list[int], limit: int, counter: Counter
) -> tuple[list[tuple[int, int]], list[int]]:
    """Cut every span longer than ``limit`` tokens at token boundaries."""
    out_spans: list[tuple[int, int]] = []
    out_counts: list[int] = []
    for (a, b), n in zip(spans, counts, strict=True):
        if n <= limit:
            out_spans.append((a, b))
            out_counts.append(n)
            continue
        offsets = counter.offsets(text[a:b])
        i = 0
        while i < len(offsets):
            j = min(i + limit, len(offsets))
            # Prefer to cut where white space follows a token, not inside a word.
            if j < len(offsets):
                k = j
                while k > i + limit // 2 and offsets[k][0] == offsets[k - 1][1]:
                    k -= 1
                if k > i + limit // 2:
                    j = k
            piece_start = a + offsets[i][0]
            piece_end = a + offsets[j - 1][1]
            out_spans.append((piece_start, piece_end))
            out_counts.append(j - i)
            i = j
    return out_spans, out_counts


def chunk_text(
    text: str,
    layout: dict[str, Any],
    counter: Counter,
    target: int = 200,
    limit: int = 254,
    overlap: int = 40,
) -> list[Chunk]:
    """Split a document's text into chunks of whole sentences (see the module docstring)."""
    target = min(target, limit)
    page_starts = [int(p[0]) for p in layout.get("pages", [])]
    page_numbers = [int(p[1]) for p in layout.get("pages", [])]

    def page_at(offset: int) -> int | None:
        if not page_starts:
            return None
        i = bisect.bisect_right(page_starts, offset) - 1
        return page_numbers[max(i, 0)]

    sections = _sections(text, layout)
    all_spans = [sentence_spans(text, s, e) for s, e, _ in sections]
    flat = [text[a:b] for spans in all_spans for a, b in spans]
    flat_counts = counter.count(flat)

    chunks: list[Chunk] = []
    pos = 0
    for (_, _, heading), spans in zip(sections, all_spans, strict=True):
        counts = flat_counts[pos : pos + len(spans)]
        pos += len(spans)
        spans, counts = _pieces(text, spans, counts, limit, counter)
        i = 0
        while i < len(spans):
            j, total = i, 0
            while j < len(spans) and (j == i or total + counts[j] <= target):
                total += counts[j]
                j += 1
            start, end = spans[i][0], spans[j - 1][1]
            exact = counter.count([text[start:end]])[0]
            # Token counts of sentences add up when joined by white space; if a tokenizer ever
            # disagrees, drop trailing sentences until the chunk fits.
            while exact > limit and j - 1 > i:
                j -= 1
                end = spans[j - 1][1]
                exact = counter.count([text[start:end]])[0]
            chunks.append(
                Chunk(
                    index=len(chunks),
                    start=start,
                    end=end,
                    text=text[start:end],
                    tokens=exact,
                    page=page_at(start),
                    page_end=page_at(end - 1),
                    heading=heading,
                    sentences=spans[i:j],
                )
            )
            if j >= len(spans):
                break
            # Step back over trailing sentences that fit in the overlap, keeping progress.
            back, carried = j, 0
            while back - 1 > i and carried + counts[back - 1] <= overlap:
                back -= 1
                carried += counts[back]
            i = back
    return chunks
