"""Plain text: bytes of unknown encoding decoded, paragraphs, and a title and date if present."""

from __future__ import annotations

import codecs
import re

from assistant.errors import BinaryFile, EmptyDocument, TooLarge
from ingest.loaders.base import Extracted, find_date, title_from_name
from ingest.normalize import Block, join_wrapped_lines

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")


def decode(data: bytes) -> str:
    """Decode text bytes: a BOM if present, else UTF-8, else the most likely legacy encoding.

    Raises ``BinaryFile`` for data that is not text and ``EmptyDocument`` for blank input.
    """
    if not data.strip():
        raise EmptyDocument("the file is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _check_text(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise BinaryFile(f"not valid {encoding} text ({exc.reason})") from exc
    if b"\x00" in data[:4096]:
        guessed = _guess_utf16(data)
        if guessed is None:
            raise BinaryFile("binary data, not text")
        return _check_text(guessed)
    try:
        return _check_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[:1_000_000]))
    if not matches:
        raise BinaryFile("binary data or an unknown text encoding")
    best = matches[0]
    # Short texts fit several code pages equally well; Windows-1252 (Western Europe) is by far
    # the most common legacy encoding, so it wins every tie.
    for match in matches:
        if match.encoding in ("cp1252", "latin_1") and match.chaos <= best.chaos:
            best = match
            break
    return _check_text(data.decode(best.encoding, errors="replace"))


def _guess_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: NUL bytes in every other position."""
    head = data[:4096]
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    half = len(head) / 2
    for zeros, encoding in ((odd, "utf-16-le"), (even, "utf-16-be")):
        if zeros > 0.3 * half:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _check_text(text: str) -> str:
    sample = text[:100_000]
    if sample and len(_CONTROL.findall(sample)) > 0.01 * len(sample):
        raise BinaryFile("binary data, not text")
    if not text.strip():
        raise EmptyDocument("the file holds only white space")
    return text


def looks_like_title(line: str, stands_alone: bool = False) -> bool:
    """A short line that reads as a title.

    A line ending in a full stop counts only when it ``stands_alone`` as the first paragraph
    (many exported articles and abstracts end their title with one).
    """
    line = line.strip()
    words = line.split()
    return (
        0 < len(line) <= 250
        and 1 <= len(words) <= 35
        and line[-1] not in ",;:"
        and (line[-1] != "." or stands_alone)
        and not line.startswith(("-", "*", "•"))
    )


def paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, hard-wrapped lines joined."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [p for p in (join_wrapped_lines(p) for p in _PARAGRAPH_BREAK.split(text)) if p]


def check_length(text: str, max_chars: int | None) -> None:
    """Refuse a text far over the cleaned text's limit (checked exactly later) before the work
    of splitting it: a 50 MB text file needs some 900 MB to read."""
    if max_chars is not None and len(text) > 2 * max_chars:
        raise TooLarge(f"{len(text):,} characters, far over the limit of {max_chars:,}")


def load_text(data: bytes, name: str, max_chars: int | None = None) -> Extracted:
    """A plain-text document: the first short line is its title, a date near the top its date."""
    text = decode(data)
    check_length(text, max_chars)
    paras = paragraphs(text)
    if not paras:
        raise EmptyDocument("the file holds no text")
    first = paras[0].split("\n")[0]
    alone = len(paras) > 1 and "\n" not in paras[0]
    title = first.strip() if looks_like_title(first, stands_alone=alone) else title_from_name(name)
    blocks = [
        Block(text=p, is_heading=(i == 0 and p.strip() == title)) for i, p in enumerate(paras)
    ]
    return Extracted(blocks=blocks, title=title, date=find_date(text[:2000]), kind="text")
