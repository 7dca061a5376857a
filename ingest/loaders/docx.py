"""Word documents (.docx): paragraphs and tables in order, headings as section paths."""

from __future__ import annotations

import io
import re
import zipfile

from ingest.errors import CorruptFile, EmptyDocument, TooLarge
from ingest.loaders.base import Extracted, parse_any_date, title_from_name
from ingest.normalize import Block

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)


def _check_zip(data: bytes, max_unzipped: int) -> None:
    """Refuse damaged archives and decompression bombs before python-docx unpacks anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise CorruptFile(f"not a valid .docx (damaged zip archive: {exc})") from exc
    if "word/document.xml" not in names:
        raise CorruptFile("not a valid .docx (no word/document.xml inside)")
    if total > max_unzipped:
        raise TooLarge(
            f"unpacks to {total / 1e6:.0f} MB, more than the limit of {max_unzipped / 1e6:.0f} MB"
        )


def load_docx(data: bytes, name: str, max_unzipped: int = 200_000_000) -> Extracted:
    """Paragraphs and table rows with heading paths; title and date from the properties."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_zip(data, max_unzipped)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, XMLSyntaxError, ValueError...
        raise CorruptFile(f"damaged .docx ({type(exc).__name__}: {exc})") from exc

    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    title_para: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            m = _HEADING_STYLE.match(style)
            if style.lower() == "title":
                title_para = title_para or text
                blocks.append(Block(text=text, is_heading=True))
            elif m:
                level = int(m.group(1))
                while path and path[-1][0] >= level:
                    path.pop()
                path.append((level, text))
                blocks.append(Block(text=text, heading=tuple(t for _, t in path), is_heading=True))
            else:
                prefix = "• " if "list" in style.lower() else ""
                blocks.append(Block(text=prefix + text, heading=tuple(t for _, t in path)))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if value and (not cells or cells[-1] != value):  # merged cells repeat
                        cells.append(value)
                if cells:
                    blocks.append(Block(text=" | ".join(cells), heading=tuple(t for _, t in path)))
    if not blocks:
        raise EmptyDocument("the document holds no text")

    props = document.core_properties
    title = (props.title or "").strip() or title_para
    if not title:
        first_heading = next((b.text for b in blocks if b.is_heading), None)
        title = first_heading or title_from_name(name)
    date = parse_any_date(props.created) or parse_any_date(props.modified)
    return Extracted(blocks=blocks, title=title, date=date, kind="docx")
