"""Loaders turn a file's bytes (or a URL's response) into blocks of text with a title and date.

``LOADERS`` maps a file extension to its loader; ``load_bytes`` picks one; ``fetch_url``
downloads a page or file for it. Adding a format adds a module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from assistant.errors import UnsupportedFormat
from ingest.loaders.base import Extracted
from ingest.loaders.docx import load_docx
from ingest.loaders.html import load_html
from ingest.loaders.markdown import load_markdown
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import load_text
from ingest.loaders.url import fetch_url

Loader = Callable[..., Extracted]

LOADERS: dict[str, Loader] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}

#: Formats named by a web server's Content-Type, for URLs whose path has no extension.
CONTENT_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


def is_supported(name: str) -> bool:
    """Whether a file name has an extension we read."""
    return PurePath(name).suffix.lower() in LOADERS


def loader_for(suffix: str) -> Loader:
    """The loader for a file extension such as ``.pdf``; ``UnsupportedFormat`` if there is none."""
    loader = LOADERS.get(suffix.lower())
    if loader is None:
        known = ", ".join(sorted({s for s in LOADERS if s not in (".text", ".markdown")}))
        raise UnsupportedFormat(f"unsupported file type {suffix or '(none)'!r}; we read {known}")
    return loader


def load_bytes(
    data: bytes,
    name: str,
    suffix: str | None = None,
    max_pages: int = 2000,
    max_unzipped: int = 200 * 2**20,
    max_chars: int | None = None,
    url: str | None = None,
) -> Extracted:
    """Read a document's bytes with the loader for ``suffix`` (default: ``name``'s extension).

    In this process and without a time or memory bound: ``ingest.sandbox.load_bounded`` is
    the bounded way to read a file from anyone. ``url`` is where an HTML page came from (for
    its metadata); with ``max_chars``, text far longer than that is refused early.
    """
    loader = loader_for(suffix or PurePath(name).suffix)
    if loader is load_pdf:
        return load_pdf(data, name, max_pages=max_pages, max_chars=max_chars)
    if loader is load_docx:
        return load_docx(data, name, max_unzipped=max_unzipped)
    if loader is load_html:
        return load_html(data, name, url=url)
    return loader(data, name, max_chars=max_chars)


__all__ = [
    "CONTENT_TYPES",
    "LOADERS",
    "Extracted",
    "fetch_url",
    "is_supported",
    "load_bytes",
    "loader_for",
]
