"""Hostile files for the loaders: real seeds of every format, their mutations, and caps to prove.

Used by ``tests/test_fuzz_loaders.py`` (hypothesis, a fixed number of examples) and
``bench/fuzz.py`` (hypothesis for minutes). A case is a seed file mutated by a few
operations, each drawn from a ``Draw``: hypothesis's own draws, so failures shrink to a
short list of operations. Besides flipped bits, cuts, insertions, repeated chunks and
splices between formats, mutations go inside the formats: a DOCX is unzipped, one XML part
is changed (elements repeated or cut, attributes set to extremes, entity declarations, deep
nesting) and zipped again, so that the XML parser gets past the zip; a PDF is changed object
by object (numbers set to extremes, objects dropped, repeated or swapped, references pointed
at themselves, filters renamed, the cross-reference table broken). A case is also read under
a suffix of another format now and then (PDF bytes named ``.docx``).
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeVar

from ingest.loaders import LOADERS
from tests.documents import ARTICLE_HTML, make_docx, make_pdf

T = TypeVar("T")
#: The tests' news article (``tests.conftest.ARTICLE``), named here without importing the
#: conftest, whose fixtures and settings bench/fuzz.py has no use for.
ARTICLE_TEXT = Path(__file__).resolve().parent / "data" / "kestrel-launch.txt"
#: Mutated files are kept below this size: big enough for repeated chunks, small enough to be
#: many per second.
MAX_CASE_BYTES = 1_500_000
FORMATS = {
    "pdf": (".pdf",),
    "docx": (".docx",),
    "html": (".html", ".htm"),
    "text": (".txt", ".text"),
    "markdown": (".md", ".markdown"),
}


class Draw(Protocol):
    """Where a mutation's choices come from."""

    def integer(self, low: int, high: int) -> int: ...

    def choice(self, options: Sequence[T]) -> T: ...

    def raw(self, size: int) -> bytes: ...


class HypothesisDraw:
    """Choices drawn by hypothesis (inside ``@st.composite``), so that failures shrink."""

    def __init__(self, draw: Callable) -> None:
        from hypothesis import strategies as st

        self._draw = draw
        self._st = st

    def integer(self, low: int, high: int) -> int:
        return self._draw(self._st.integers(low, high))

    def choice(self, options: Sequence[T]) -> T:
        return self._draw(self._st.sampled_from(options))

    def raw(self, size: int) -> bytes:
        return self._draw(self._st.binary(min_size=size, max_size=size))


@dataclass
class Case:
    """One file to feed a loader: its bytes, the suffix it is read as, and how it was made."""

    data: bytes
    suffix: str
    origin: str  # "pdf: object-number, cut" ...
    kind: str  # the seed's format, or "random"


# --- seeds -------------------------------------------------------------------------------------

HTML_SAMPLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Council approves flood defences &amp; new pumps</title>
<meta name="date" content="2025-06-12">
<meta property="og:title" content="Council approves flood defences">
<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2025-06-12"}</script>
</head><body>
<header><a href="/">Riverside Gazette</a></header>
<main><article>
<h1>Council approves flood defences</h1>
<p class="byline">By Ana Ruiz &middot; 12 June 2025</p>
<p>The council voted 31 to 4 on Wednesday to spend &euro;18&nbsp;million on new flood walls
along the river, after two floods in three years damaged <b>more than 400 homes</b>.</p>
<h2>What will be built</h2>
<ul><li>A 2.4 km wall on the east bank</li><li>Three pumping stations</li>
<li>Gates at the <a href="/harbour">harbour</a> mouth</li></ul>
<table><tr><th>Item</th><th>Cost</th></tr><tr><td>Wall</td><td>11.2 m</td></tr>
<tr><td>Pumps</td><td>4.1 m</td></tr></table>
<blockquote>"We cannot wait for the next flood," said the mayor, Tomas Berg.</blockquote>
<pre>budget = 18_000_000</pre>
</article></main>
<aside>Most read: Harbour strike ends</aside>
<footer>&copy; 2025 Riverside Gazette</footer>
</body></html>
"""

MARKDOWN_SAMPLE = """---
title: Water rates memo
date: 2025-02-03
---

# Water rates memo

The utility proposes to raise water rates by **6 per cent** from April, citing
[pipe repairs](https://example.test/pipes) and energy costs.

## Options

1. Raise rates by 6 per cent.
2. Phase the rise over two years:
   - 3 per cent in April
   - 3 per cent next April

> The board meets on 14 February to decide.

| Option | Rise | Cost to households |
|---|---:|---|
| One step | 6% | EUR 24 a year |
| Two steps | 3% + 3% | EUR 12, then 24 |

```
rate_2025 = rate_2024 * 1.06
```

Contact: <memo@example.test>
"""

MEMO_TEXT = (
    "Memo: harbour strike\n\nDate: 4 March 2025\n\nDock workers at the northern harbour ended "
    "a nine-day strike on Monday after the port authority offered a 7 per cent rise.\n"
    "Shipping agents said the backlog of 140 containers\nwould clear by Friday.\n\n"
    "- berths reopened: 6\n- ships waiting: 11\n"
)


def minimal_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF of the given object bodies (numbered from 1) with an exact cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


def pdf_stream(content: bytes, compress: bool = False) -> bytes:
    """A stream object's body: ``content``, deflated or not."""
    if compress:
        content = zlib.compress(content, 9)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (
            len(content),
            content,
        )
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
_PAGE = (
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
    b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
)


def pdf_of_pages(
    pages: int, content: bytes, count: int | None = None, compress: bool = False
) -> bytes:
    """A valid PDF of ``pages`` page objects that all draw one shared content stream.

    ``count`` is what the page tree's ``/Count`` claims (default: the truth).
    """
    kids = b" ".join(b"%d 0 R" % (5 + k) for k in range(pages))
    tree = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages if count is None else count, kids)
    head = [b"<< /Type /Catalog /Pages 2 0 R >>", tree, _FONT, pdf_stream(content, compress)]
    return minimal_pdf(head + [_PAGE] * pages)


def _uncompressed_pdf() -> bytes:
    """A two-page PDF with plain (uncompressed) content streams and an info dictionary."""
    page1 = (
        b"BT /F1 18 Tf 72 720 Td (Port budget review) Tj ET\n"
        b"BT /F1 11 Tf 72 690 Td 14 TL (The port authority approved a budget of 52 million.) Tj "
        b"T* (Dredging the outer channel takes 9 million of it.) Tj T* [(Ker) 120 (ning)] TJ ET"
    )
    page2 = b"BT /F1 11 Tf 72 720 Td (Page two: the vote was 7 to 2, on 3 April 2025.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 2 /Kids [5 0 R 7 0 R] >>",
        _FONT,
        pdf_stream(page1),
        _PAGE,
        pdf_stream(page2),
        _PAGE.replace(b"4 0 R", b"6 0 R"),
        b"<< /Title (Port budget review) /CreationDate (D:20250403120000Z) >>",
    ]
    data = minimal_pdf(objects)
    return data.replace(b"/Root 1 0 R", b"/Root 1 0 R /Info 8 0 R")


@lru_cache(maxsize=1)
def seeds() -> dict[str, tuple[bytes, ...]]:
    """Real files of every format, made once per process."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pdfs = (
            make_pdf(folder / "a.pdf").read_bytes(),
            make_pdf(folder / "b.pdf", pages=[["Short title page"]], title="Report").read_bytes(),
            _uncompressed_pdf(),
        )
        docx = (make_docx(folder / "a.docx").read_bytes(),)
    text = ARTICLE_TEXT.read_bytes()[:12_000]
    return {
        "pdf": pdfs,
        "docx": docx,
        "html": (ARTICLE_HTML.encode(), HTML_SAMPLE.encode()),
        "text": (text, MEMO_TEXT.encode("cp1252"), MEMO_TEXT.encode("utf-16")),
        "markdown": (MARKDOWN_SAMPLE.encode(),),
    }


# --- mutations ---------------------------------------------------------------------------------

# fmt: off
_TOKENS = {
    "pdf": [b"obj", b"endobj", b"stream\n", b"endstream", b"<<", b">>", b"[", b"]", b"(", b")",
            b"/Kids", b"/Count 999999999", b"/Length -1", b"1 0 R", b"trailer", b"xref",
            b"%%EOF", b"startxref\n0\n", b"/Filter /FlateDecode", b"/Encrypt 1 0 R", b"Tj",
            b"TJ", b"BT", b"ET", b"1e308", b"-2147483649", b"\\", b"<FEFF"],
    "html": [b"<div>", b"</div>", b"<p>", b"</p>", b"<table><tr><td>", b"<!--", b"-->",
             b"<script>", b"</script>", b"<![CDATA[", b"&#0;", b"&#x110000;", b"&amp", b"\x00",
             b'<meta charset="utf-7">', b"<math><mi>", b"<svg><foreignObject>", b"<h1>",
             b'<meta property="article:published_time" content="99999-99-99">', b"\xff\xfe"],
    "markdown": [b"[", b"]", b"(", b"*", b"**", b"_", b"`", b"```\n", b"|", b"|---|\n", b"> ",
                 b"\n- ", b"\n1. ", b"# ", b"---\n", b"<div>", b"![a](", b"\\", b"\t", b"&#0;"],
    "text": [b"\x00", b"\r", b"\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x80", b"\xc3",
             b"\xed\xa0\x80", b"\n\n", b"\x1b[31m", "\u2028".encode(), b"-\n"],
    "docx": [b"<w:p>", b"</w:p>", b"<w:r><w:t>", b"</w:t></w:r>", b"<w:tbl>", b"<w:tr>",
             b"<w:tc>", b'w:val="Heading99"', b'<!DOCTYPE x [<!ENTITY a "aaaa">]>', b"&a;",
             b'xmlns:w="urn:x"', b"\x00", b'<w:gridSpan w:val="-5"/>', b"<w:vMerge/>",
             b'<w:pStyle w:val="Title"/>'],
}
_FILTERS = [b"/FlateDecode", b"/LZWDecode", b"/ASCII85Decode", b"/ASCIIHexDecode",
            b"/RunLengthDecode", b"/DCTDecode", b"/JBIG2Decode", b"/CCITTFaxDecode", b"/Crypt",
            b"/JPXDecode", b"/Nonsense"]
_EXTREMES = [b"0", b"-1", b"1", b"2147483648", b"-2147483649", b"9223372036854775808",
             b"99999999999999999999999", b"1e308", b"0.0000001", b"65535", b"100000"]
# fmt: on
_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, ord("<"), ord(">"), ord("("), ord(")"), ord("/"), 0x0A]
_NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_OBJECT = re.compile(rb"\d+ \d+ obj.*?endobj", re.S)
_REFERENCE = re.compile(rb"\d+ \d+ R")
_XML_ELEMENT = re.compile(
    rb"<(w:(?:p|r|t|tbl|tr|tc|body|sectPr|style|rPr|pPr))\b[^>]*>.*?</\1>", re.S
)
_XML_ATTRIBUTE = re.compile(rb'(\w+:\w+)="([^"]*)"')


def _span(draw: Draw, data: bytes, most: int = 4096) -> tuple[int, int]:
    """A random [start, end) inside ``data``."""
    start = draw.integer(0, max(0, len(data) - 1))
    return start, min(len(data), start + draw.integer(1, most))


def mutate_bytes(draw: Draw, data: bytes, kind: str) -> tuple[bytes, str]:
    """One byte-level edit of ``data``; returns the result and its name."""
    if not data:
        return draw.raw(draw.integer(1, 64)), "random"
    op = draw.choice(
        ["flip", "byte", "cut", "delete", "insert", "token", "duplicate", "repeat", "splice"]
    )
    buf = bytearray(data)
    start, end = _span(draw, data)
    if op == "flip":
        for _ in range(draw.integer(1, 8)):
            i = draw.integer(0, len(buf) - 1)
            buf[i] ^= 1 << draw.integer(0, 7)
    elif op == "byte":
        buf[start] = draw.choice(_INTERESTING)
    elif op == "cut":
        del buf[start:]
    elif op == "delete":
        del buf[start:end]
    elif op == "insert":
        buf[start:start] = draw.raw(draw.integer(1, 32))
    elif op == "token":
        buf[start:start] = draw.choice(_TOKENS[kind]) * draw.integer(1, 3)
    elif op == "duplicate":
        at = draw.integer(0, len(buf))
        buf[at:at] = buf[start:end]
    elif op == "repeat":  # the same chunk many times: deep nesting, long runs, big tables
        chunk = bytes(buf[start : min(end, start + 64)]) or b"x"
        times = min(draw.integer(2, 20_000), MAX_CASE_BYTES // (2 * len(chunk)) + 1)
        buf[start:start] = chunk * times
    else:  # a chunk of another format's seed
        other = draw.choice(sorted(seeds()))
        donor = draw.choice(seeds()[other])
        a, b = _span(draw, donor)
        buf[start:end] = donor[a:b]
    return bytes(buf[:MAX_CASE_BYTES]), op


def mutate_pdf(draw: Draw, data: bytes) -> tuple[bytes, str]:
    """One object-level edit of a PDF."""
    objects = list(_OBJECT.finditer(data))
    op = draw.choice(
        [
            "number",
            "drop",
            "repeat-object",
            "swap",
            "self-reference",
            "filter",
            "xref",
            "startxref",
            "page-loop",
        ]
    )
    if not objects:
        return mutate_bytes(draw, data, "pdf")
    target = draw.choice(objects)
    body = target.group(0)
    if op == "number":
        numbers = list(_NUMBER.finditer(body))
        if numbers:
            n = draw.choice(numbers)
            body = body[: n.start()] + draw.choice(_EXTREMES) + body[n.end() :]
    elif op == "drop":
        body = b""
    elif op == "repeat-object":
        body = body + b"\n" + body
    elif op == "swap":
        other = draw.choice(objects).group(0)
        body = body.split(b"obj", 1)[0] + b"obj" + other.split(b"obj", 1)[1]
    elif op == "self-reference":
        own = body.split(b" obj", 1)[0]
        refs = list(_REFERENCE.finditer(body))
        if refs:
            r = draw.choice(refs)
            body = body[: r.start()] + own + b" R" + body[r.end() :]
    elif op == "filter":
        body = body.replace(b"/Length", b"/Filter " + draw.choice(_FILTERS) + b" /Length", 1)
    elif op == "xref":
        cut = data.rfind(b"xref")
        if cut > 0:
            end = data.find(b"trailer", cut)
            return data[:cut] + data[end if end > 0 else len(data) :], op
    elif op == "startxref":
        return re.sub(rb"startxref\s+\d+", b"startxref\n" + draw.choice(_EXTREMES), data), op
    elif op == "page-loop":
        return data.replace(b"/Kids [", b"/Kids [2 0 R 1 0 R ", 1), op
    return data[: target.start()] + body + data[target.end() :], op


def mutate_docx(draw: Draw, data: bytes) -> tuple[bytes, str]:
    """One edit inside a DOCX: a part's XML changed and the archive zipped again."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: archive.read(info) for info in archive.infolist()}
    except Exception:
        return mutate_bytes(draw, data, "docx")
    names = sorted(parts)
    preferred = [n for n in names if n.endswith(".xml") or n.endswith(".rels")]
    op = draw.choice(["xml", "xml", "xml", "bytes-in-part", "drop-part", "add-part", "stored"])
    name = draw.choice(["word/document.xml", *preferred]) if preferred else draw.choice(names)
    if name not in parts:
        name = draw.choice(names)
    if op == "xml":
        parts[name], op = _mutate_xml(draw, parts[name])
    elif op == "bytes-in-part":
        parts[name], op = mutate_bytes(draw, parts[name], "docx")
        op = "part-" + op
    elif op == "drop-part":
        del parts[name]
    elif op == "add-part":
        parts["word/" + draw.choice(["extra.xml", "media/x.png", "../../evil.xml"])] = draw.raw(
            draw.integer(0, 64)
        )
    compression = zipfile.ZIP_STORED if op == "stored" else zipfile.ZIP_DEFLATED
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for part, content in parts.items():
            archive.writestr(part, content)
    return out.getvalue(), f"{op} {name}"


def _mutate_xml(draw: Draw, xml: bytes) -> tuple[bytes, str]:
    op = draw.choice(
        [
            "repeat-element",
            "drop-element",
            "attribute",
            "rename",
            "unclose",
            "entities",
            "nest",
            "token",
        ]
    )
    elements = list(_XML_ELEMENT.finditer(xml))
    if op in ("repeat-element", "drop-element") and elements:
        e = draw.choice(elements)
        times = draw.integer(0, 3) if op == "drop-element" else draw.integer(2, 2000)
        piece = e.group(0) * (0 if op == "drop-element" else times)
        return (xml[: e.start()] + piece + xml[e.end() :])[:MAX_CASE_BYTES], op
    if op == "attribute":
        attributes = list(_XML_ATTRIBUTE.finditer(xml))
        if attributes:
            a = draw.choice(attributes)
            value = draw.choice([*_EXTREMES, b"", b"Heading 1", b"Title", b"&#0;", b"\xff"])
            return xml[: a.start(2)] + value + xml[a.end(2) :], op
    if op == "rename":
        return xml.replace(b"<w:" + draw.choice([b"p", b"r", b"t", b"tbl", b"tc"]), b"<w:x", 1), op
    if op == "unclose" and elements:
        e = draw.choice(elements)
        return xml[: e.end() - 6] + xml[e.end() :], op
    if op == "entities":
        decl = b'<!DOCTYPE w [<!ENTITY a "' + b"x" * draw.integer(1, 100) + b'">]>'
        start = xml.find(b"?>") + 2
        return xml[:start] + decl + xml[start:].replace(b"<w:t>", b"<w:t>&a;&a;", 5), op
    if op == "nest":
        depth = draw.integer(10, 5000)
        body = xml.find(b"<w:body>")
        if body > 0:
            at = body + len(b"<w:body>")
            nested = b"<w:p>" + b"<w:r>" * depth + b"<w:t>deep</w:t>" + b"</w:r>" * depth
            return xml[:at] + nested + b"</w:p>" + xml[at:], op
    return mutate_bytes(draw, xml, "docx")


def make_case(draw: Draw) -> Case:
    """A file to feed a loader: random bytes now and then, mostly a mutated seed."""
    kind = draw.choice(["random", *sorted(FORMATS) * 3])
    if kind == "random":
        data = draw.raw(draw.integer(0, 2048))
        return Case(data, draw.choice(sorted(LOADERS)), "random bytes", kind)
    data = draw.choice(seeds()[kind])
    ops = []
    for _ in range(draw.integer(1, 4)):
        structured = draw.integer(0, 1) == 1
        if kind == "pdf" and structured:
            data, op = mutate_pdf(draw, data)
        elif kind == "docx" and structured:
            data, op = mutate_docx(draw, data)
        else:
            data, op = mutate_bytes(draw, data, kind)
        ops.append(op)
    mismatched = draw.integer(0, 9) == 0
    suffix = draw.choice(sorted(LOADERS) if mismatched else FORMATS[kind])
    return Case(data, suffix, f"{kind}: {', '.join(ops)}", kind)


def fuzz_cases():
    """The hypothesis strategy of ``Case``s."""
    from hypothesis import strategies as st

    @st.composite
    def cases(draw: Callable) -> Case:
        return make_case(HypothesisDraw(draw))

    return cases()


# --- files that caps must refuse ---------------------------------------------------------------


def docx_with_body(xml: bytes) -> bytes:
    """The seed DOCX with ``xml`` added at the start of its body."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(seeds()["docx"][0])) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            content = src.read(info)
            if info.filename == "word/document.xml":
                content = content.replace(b"<w:body>", b"<w:body>" + xml, 1)
            dst.writestr(info.filename, content)
    return out.getvalue()


def docx_bomb(gib: int = 3, declared: int | None = None) -> bytes:
    """A real DOCX of about 1 MB per GiB whose ``word/document.xml`` inflates to ``gib`` GiB.

    A deflate block of 1 MiB of zeros that refers to nothing before it (written after a full
    flush) is repeated: that takes a second to build, where deflating 3 GiB takes a minute. The
    directory declares the true size unless ``declared`` says otherwise (a directory that lies).
    """
    chunk = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflate.compress(chunk)
    deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(1024 * gib):
        crc = zlib.crc32(chunk, crc)
    with zipfile.ZipFile(io.BytesIO(seeds()["docx"][0])) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    entries = []
    for name, content in parts.items():
        if name == "word/document.xml":
            size = (1 << 30) * gib
            entries.append((name, block * (1024 * gib) + deflate.flush(), crc, size))
        else:
            raw = zlib.compressobj(9, zlib.DEFLATED, -15)
            packed = raw.compress(content) + raw.flush()
            entries.append((name, packed, zlib.crc32(content), len(content)))
    if declared is not None:
        entries = [(n, d, c, declared if n == "word/document.xml" else s) for n, d, c, s in entries]
    return _zip_of(entries)


def _zip_of(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip archive of already-deflated entries: (name, deflated bytes, crc32, size)."""
    import struct

    out = bytearray()
    directory = bytearray()
    for name, packed, crc, size in entries:
        encoded = name.encode()
        offset = len(out)
        fields = (20, 0, 8, 0, 0x21, crc, len(packed), size, len(encoded), 0)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields) + encoded + packed
        directory += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, offset
        )
        directory += encoded
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), len(out), 0
    )
    return bytes(out + directory + end)
