"""PDF: text page by page (page numbers kept), title and date from the document information."""

from __future__ import annotations

import io
import re

from ingest.errors import CorruptFile, EmptyDocument, TooLarge
from ingest.loaders.base import Extracted, parse_any_date, title_from_name
from ingest.loaders.text import looks_like_title
from ingest.normalize import Block, join_wrapped_lines

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_PAGE_NUMBER_LINE = re.compile(r"^\s*(page\s*)?\d{1,4}(\s*(/|of)\s*\d{1,4})?\s*$", re.I)


def load_pdf(data: bytes, name: str, max_pages: int = 2000) -> Extracted:
    """Every page's text as paragraphs tagged with their page number (1-based)."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        raise CorruptFile("not a PDF file (no %PDF header)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns on every small flaw
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorruptFile("the PDF is encrypted with a password")
        count = len(reader.pages)
    except CorruptFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise CorruptFile(f"damaged PDF ({exc})") from exc
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise CorruptFile(f"damaged PDF ({type(exc).__name__}: {exc})") from exc
    if count > max_pages:
        raise TooLarge(f"{count} pages, more than the limit of {max_pages}")

    blocks: list[Block] = []
    failed_pages = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            raw = page.extract_text() or ""
        except Exception:  # one bad page must not lose the others
            failed_pages += 1
            continue
        for para in _PARAGRAPH_BREAK.split(raw):
            lines = [ln for ln in para.split("\n") if not _PAGE_NUMBER_LINE.match(ln)]
            text = join_wrapped_lines("\n".join(lines), dehyphenate=True)
            if text:
                blocks.append(Block(text=text, page=number))
    if not blocks:
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


def _generic_title(title: str) -> bool:
    """Titles that PDF producers fill in by themselves ("Microsoft Word - draft.docx")."""
    lower = title.lower()
    return lower in {"untitled", "title", "document"} or lower.startswith("microsoft word -")
