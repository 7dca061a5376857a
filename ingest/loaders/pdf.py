"""PDF: text page by page (page numbers kept), title and date from the document information."""

from __future__ import annotations

import io
import re
from collections import deque
from typing import Any

from assistant.errors import CorruptFile, EmptyDocument, TooLarge
from ingest.loaders.base import Extracted, parse_any_date, title_from_name
from ingest.loaders.text import looks_like_title
from ingest.normalize import Block, join_wrapped_lines

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_PAGE_NUMBER_LINE = re.compile(r"^\s*(page\s*)?\d{1,4}(\s*(/|of)\s*\d{1,4})?\s*$", re.I)


def load_pdf(
    data: bytes, name: str, max_pages: int = 2000, max_chars: int | None = None
) -> Extracted:
    """Every page's text as paragraphs tagged with their page number (1-based).

    More than ``max_pages`` pages is refused before any page is read; reading stops with
    ``TooLarge`` once the text passes twice ``max_chars`` (the cleaned text's limit, checked
    exactly later), so that thousands of pages sharing one huge content stream cost little.
    """
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        raise CorruptFile("not a PDF file (no %PDF header)")
    # pypdf logs every small flaw, and at ERROR level fonts it cannot decode: none of it is news
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorruptFile("the PDF is encrypted with a password")
        _check_page_tree(reader, max_pages)
        count = len(reader.pages)
    except (CorruptFile, TooLarge):
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise CorruptFile(f"damaged PDF ({exc})") from exc
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise CorruptFile(f"damaged PDF ({type(exc).__name__}: {exc})") from exc
    if count > max_pages:  # the walk above saw a different tree than pypdf's
        raise TooLarge(f"{count:,} pages, more than the limit of {max_pages:,}")

    blocks: list[Block] = []
    failed_pages = 0
    over_limit: str | None = None
    chars = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            raw = page.extract_text() or ""
        except MemoryError:
            raise
        except Exception as exc:  # one bad page must not lose the others
            failed_pages += 1
            if type(exc).__name__ == "LimitReachedError":  # pypdf's own caps on a stream
                over_limit = str(exc)
            continue
        for para in _PARAGRAPH_BREAK.split(raw):
            lines = [ln for ln in para.split("\n") if not _PAGE_NUMBER_LINE.match(ln)]
            text = join_wrapped_lines("\n".join(lines), dehyphenate=True)
            if text:
                blocks.append(Block(text=text, page=number))
                chars += len(text)
        if max_chars is not None and chars > 2 * max_chars:
            raise TooLarge(
                f"more than {2 * max_chars:,} characters of text by page {number} of {count}, "
                f"far over the limit of {max_chars:,}"
            )
    if not blocks:
        if over_limit:
            raise TooLarge(f"a page holds more than the PDF reader takes ({over_limit})")
        if failed_pages:
            raise CorruptFile(f"damaged PDF: none of its {count} pages could be read")
        raise EmptyDocument("the PDF has no extractable text (a scanned image?)")

    info_title = info_date = None
    try:
        info = reader.metadata
        if info is not None:
            info_title = (info.title or "").strip() or None
            info_date = parse_any_date(info.get("/CreationDate"))
    except Exception:  # a broken info dictionary is not worth failing the document for
        pass
    first_line = blocks[0].text.split("\n")[0]
    if info_title and not _generic_title(info_title):
        title = info_title
    elif looks_like_title(first_line):
        title = first_line
    else:
        title = title_from_name(name)
    return Extracted(blocks=blocks, title=title, date=info_date, kind="pdf")


def _check_page_tree(reader: Any, max_pages: int) -> None:
    """Refuse more than ``max_pages`` pages before pypdf builds an object for every page.

    ``/Count`` is checked first; as it may lie, the page tree is then walked breadth first
    and the walk stops as soon as the pages found plus the entries still waiting pass the
    limit (in a well-formed tree every ``/Kids`` entry holds at least one page), so a file
    listing 100,000 pages costs max_pages + 1 lookups, not 100,000.
    """
    from pypdf.generic import IndirectObject

    pages = reader.trailer["/Root"]["/Pages"]
    count = pages.get("/Count")
    if isinstance(count, int) and count > max_pages:
        raise TooLarge(f"{count:,} pages, more than the limit of {max_pages:,}")
    waiting: deque[Any] = deque([pages])
    seen: set[tuple[int, int]] = set()
    found = visited = 0
    while waiting:
        if found + len(waiting) > max_pages:
            raise TooLarge(
                f"more pages than the limit of {max_pages:,} (its page tree lists at least "
                f"{found + len(waiting):,})"
            )
        visited += 1
        if visited > 2 * max_pages + 16:  # chains of one-child nodes: malformed, and slow
            raise TooLarge(f"a page tree of more than {2 * max_pages + 16:,} nodes")
        node = waiting.popleft()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue  # a loop or a repeat: counted once here, pypdf refuses loops itself
            seen.add(key)
            node = node.get_object()
        kids = node.get("/Kids") if isinstance(node, dict) else None
        if isinstance(kids, IndirectObject):
            kids = kids.get_object()
        if kids is None:
            found += 1
        elif isinstance(kids, list):
            waiting.extend(kids)


def _generic_title(title: str) -> bool:
    """Titles that PDF producers fill in by themselves ("Microsoft Word - draft.docx")."""
    lower = title.lower()
    return lower in {"untitled", "title", "document"} or lower.startswith("microsoft word -")
