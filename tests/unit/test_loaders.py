"""Each supported format is read into clean text with its title, date and layout."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from assistant.errors import BinaryFile, CorruptFile, EmptyDocument, TooLarge, UnsupportedFormat
from ingest.loaders import load_bytes
from ingest.normalize import assemble, clean_blocks
from tests.documents import ARTICLE_HTML, make_docx, make_pdf


def _read(data: bytes, name: str):
    extracted = load_bytes(data, name)
    return extracted, assemble(clean_blocks(extracted.blocks))


def test_text_title_and_paragraphs(article_file: Path) -> None:
    extracted, doc = _read(article_file.read_bytes(), article_file.name)
    assert extracted.title.startswith("European Export Rules May Have Unintentionally Boosted")
    assert "Priya Raman" in doc.text
    assert doc.text.count("\n\n") >= 20  # paragraphs kept apart


def test_text_hard_wrapped_lines_are_joined() -> None:
    data = (
        b"Memo\n\nThe committee met on Monday\nand agreed the budget.\n\n"
        b"- first item\n- second item\n"
    )
    _, doc = _read(data, "memo.txt")
    assert "The committee met on Monday and agreed the budget." in doc.text
    assert "- first item\n- second item" in doc.text


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"]
)
def test_text_encodings(encoding: str) -> None:
    text = "Rapport\n\nLe café coûte trois euros à Genève, dit Zoë. Ça suffit."
    data = text.encode(encoding)
    if encoding == "utf-16-le":  # no BOM
        assert not data.startswith(codecs.BOM_UTF16_LE)
    _, doc = _read(data, "note.txt")
    assert "Le café coûte trois euros à Genève, dit Zoë." in doc.text


def test_text_date_found_near_the_top() -> None:
    extracted, _ = _read(b"Report\n\nPublished 5 March 2025\n\nBody text here.", "r.txt")
    assert extracted.date == "2025-03-05"


def test_markdown_headings_and_front_matter() -> None:
    md = (
        "---\ntitle: Grid outlook\ndate: 2026-01-15\n---\n\n# Grid outlook\n\nIntro with **bold** "
        "and a [link](http://x.test).\n\n## Risks\n\n- Heat waves\n- Old lines\n\n### Costs\n\n"
        "| Item | Cost |\n|---|---|\n| Lines | 40 |\n"
    )
    extracted, doc = _read(md.encode(), "grid.md")
    assert extracted.title == "Grid outlook" and extracted.date == "2026-01-15"
    assert "Intro with bold and a link." in doc.text
    assert "**" not in doc.text and "](" not in doc.text
    assert "• Heat waves" in doc.text and "Lines | 40" in doc.text
    sections = dict((h, s) for s, h in doc.layout["sections"])
    assert "Grid outlook > Risks > Costs" in sections


def test_html_keeps_the_article_and_drops_the_page_furniture() -> None:
    extracted, doc = _read(ARTICLE_HTML.encode(), "grid.html")
    assert extracted.title == "Grid strained by heatwave"
    assert extracted.date == "2025-03-04"
    assert "record 61 gigawatts" in doc.text and "Maria Keller" in doc.text
    for junk in (
        "TRACKING-SCRIPT-TEXT",
        "cookies",
        "World news menu",
        "READER-COMMENT",
        "Copyright",
    ):
        assert junk not in doc.text, junk
    headings = [h for _, h in doc.layout["sections"]]
    assert any(h.endswith("Operators respond") for h in headings)


def test_html_too_short_for_the_extractor_still_reads() -> None:
    html = (
        b"<html><body><script>alert(1)</script>"
        b"<p>Short note: the meeting moved to 3 pm.</p></body></html>"
    )
    _, doc = _read(html, "note.html")
    assert doc.text == "Short note: the meeting moved to 3 pm."


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "review.pdf", title="Quarterly Risk Review")
    extracted, doc = _read(pdf.read_bytes(), pdf.name)
    assert extracted.title == "Quarterly Risk Review" and extracted.kind == "pdf"
    pages = doc.layout["pages"]
    assert [p for _, p in pages] == [1, 2, 3]
    start_of_3 = pages[2][0]
    assert doc.text.index("strategic reserve") > start_of_3 > doc.text.index("six weeks")


def test_docx_headings_lists_and_tables(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "memo.docx")
    extracted, doc = _read(path.read_bytes(), path.name)
    assert extracted.title == "Board memo on data centres" and extracted.date
    assert "• Move cold storage to the northern site." in doc.text
    assert "Site | Energy use (GWh)" in doc.text and "City | 41" in doc.text
    headings = [h for _, h in doc.layout["sections"]]
    assert "Board memo on data centres > Costs" in headings


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"", "empty.txt", EmptyDocument),
        (b"   \n\n  ", "blank.md", EmptyDocument),
        (bytes(range(256)) * 20, "random.txt", BinaryFile),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "cut.pdf", CorruptFile),
        (b"this is not a pdf", "fake.pdf", CorruptFile),
        (b"PK\x03\x04 broken zip", "broken.docx", CorruptFile),
        (b"plain words", "notes.xyz", UnsupportedFormat),
    ],
)
def test_bad_files_raise_a_named_error(data: bytes, name: str, error: type) -> None:
    with pytest.raises(error) as info:
        load_bytes(data, name)
    assert str(info.value)


def test_truncated_real_pdf_is_refused_or_partly_read(tmp_path: Path) -> None:
    data = make_pdf(tmp_path / "r.pdf").read_bytes()
    try:
        extracted = load_bytes(data[: len(data) // 3], "r.pdf")
    except CorruptFile:
        return
    assert extracted.blocks  # pypdf recovered some pages: fine, as long as it is text


def test_docx_bomb_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", "<w:document/>" + " " * 5_000_000)
    with pytest.raises(TooLarge):
        load_bytes(path.read_bytes(), "bomb.docx", max_unzipped=1_000_000)


def test_pdf_page_cap(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "long.pdf", pages=[["page text"]] * 5)
    with pytest.raises(TooLarge):
        load_bytes(pdf.read_bytes(), "long.pdf", max_pages=3)
