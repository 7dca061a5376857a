"""From a source's bytes to a document ready to embed: cleaned text, chunks and their metadata."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from assistant.errors import EmptyDocument, TooLarge
from assistant.index.embeddings import MAX_CHUNK_TOKENS, TokenCounter
from assistant.index.passages import below_title
from assistant.index.registry import DocumentRecord
from assistant.text.dates import day_number
from ingest.chunking import Chunk, chunk_text
from ingest.loaders import Extracted
from ingest.normalize import assemble, clean_blocks

#: Bump when a change to loading, cleaning or chunking should re-embed every document.
PIPELINE_VERSION = "3"
#: Tokens of a title prefixed to each chunk's embedding input, at most.
TITLE_TOKENS = 32


@dataclass
class Prepared:
    """A document ready to embed and store."""

    record: DocumentRecord
    chunks: list[Chunk]
    #: What the model reads for each chunk: the title, then the chunk.
    embed_inputs: list[str]
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    #: For each chunk, its sentences as character spans of its embed input.
    sentence_spans: list[list[tuple[int, int]]] = field(default_factory=list)

    @property
    def chunk_ids(self) -> list[str]:
        """Stable ids: the same version of a document always gets the same chunk ids."""
        prefix = f"{self.record.doc_id}-{self.record.content_hash[:12]}"
        return [f"{prefix}-{c.index:05d}" for c in self.chunks]


def doc_id_for(source: str) -> str:
    """A document's id: stable for its source (absolute path or URL)."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def content_hash(data: bytes, fingerprint: str) -> str:
    """Hash of a source's bytes and of the settings that shape its chunks."""
    digest = hashlib.sha256()
    digest.update(f"{PIPELINE_VERSION}|{fingerprint}|".encode())
    digest.update(data)
    return digest.hexdigest()[:32]


def _title_prefix(title: str, counter: TokenCounter) -> str:
    """The title as the model reads it before each chunk; none if it is only an id ("0412")."""
    if not re.search(r"[^\W\d_]{3,}", title):
        return ""
    offsets = counter.offsets(title)
    if len(offsets) > TITLE_TOKENS:
        title = title[: offsets[TITLE_TOKENS - 1][1]]
    return title


def prepare(
    extracted: Extracted,
    *,
    collection: str,
    source: str,
    data_hash: str,
    size_bytes: int,
    counter: TokenCounter,
    target_tokens: int,
    overlap_tokens: int,
    max_chars: int,
) -> Prepared:
    """Clean, assemble and chunk an extracted document; build its record and chunk metadata."""
    blocks = clean_blocks(extracted.blocks)
    assembled = assemble(blocks)
    text = assembled.text
    if not text.strip():
        raise EmptyDocument("no text left after cleaning")
    if len(text) > max_chars:
        raise TooLarge(f"{len(text):,} characters of text, more than the limit of {max_chars:,}")
    title = " ".join(extracted.title.split())[:300] or "Untitled"
    prefix = _title_prefix(title, counter)
    prefix_tokens = counter.count([prefix])[0] if prefix else 0
    limit = MAX_CHUNK_TOKENS - prefix_tokens
    chunks = chunk_text(
        text,
        assembled.layout,
        counter,
        target=min(target_tokens, limit),
        limit=limit,
        overlap=overlap_tokens,
    )
    doc_id = doc_id_for(source)
    record = DocumentRecord(
        collection=collection,
        doc_id=doc_id,
        source=source,
        title=title,
        date=extracted.date,
        kind=extracted.kind,
        content_hash=data_hash,
        text=text,
        chunk_count=len(chunks),
        token_count=sum(c.tokens for c in chunks),
        size_bytes=size_bytes,
        layout=assembled.layout,
    )
    inputs = [
        c.text if not prefix or c.text.startswith(prefix) else f"{prefix}\n{c.text}" for c in chunks
    ]
    sentence_spans = []
    for c, embedded in zip(chunks, inputs, strict=True):
        shift = len(embedded) - len(c.text)  # the title prefix before the chunk, if any
        sentence_spans.append([(a - c.start + shift, b - c.start + shift) for a, b in c.sentences])
    date_ts = day_number(extracted.date)
    para_starts = [0] + [m.end() for m in re.finditer(r"\n\n", text)]
    metadatas = []
    for c in chunks:
        meta: dict[str, Any] = {
            "doc_id": doc_id,
            "hash": data_hash,
            "source": source,
            "title": title,
            "date": extracted.date or "",
            "kind": extracted.kind,
            "chunk": c.index,
            "start": c.start,
            "end": c.end,
            "tokens": c.tokens,
            # Paragraph number (1-based) where the chunk starts: a location a person can find.
            "para": bisect.bisect_right(para_starts, c.start),
        }
        if date_ts is not None:
            meta["date_ts"] = date_ts
        if c.page is not None:
            meta["page"] = c.page
            meta["page_end"] = c.page_end or c.page
        heading = below_title(c.heading, title)
        if heading:
            meta["heading"] = heading
        metadatas.append(meta)
    return Prepared(
        record=record,
        chunks=chunks,
        embed_inputs=inputs,
        metadatas=metadatas,
        sentence_spans=sentence_spans,
    )
