"""Builders of real test documents (PDF, DOCX, HTML) with known content."""

from __future__ import annotations

from pathlib import Path

ARTICLE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Grid strained by heatwave | Example News</title>
<meta property="article:published_time" content="2025-03-04T10:00:00Z">
<script>var tracking = "TRACKING-SCRIPT-TEXT";</script>
<style>.banner { color: red }</style></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World news menu</a></li></ul></nav>
<div class="cookie-banner" id="cookie-consent">We use cookies to improve your experience.
Accept all cookies</div>
<article>
<h1>Grid strained by heatwave</h1>
<p>The national grid operator said on Tuesday that demand reached a record 61 gigawatts during
the afternoon peak, as temperatures climbed above 40 degrees in the south.</p>
<h2>Operators respond</h2>
<p>"We had enough reserve capacity, but only just," said Maria Keller, head of operations at
GridCo. She said two gas plants were brought online early to cover the shortfall.</p>
<p>Engineers warned that the ageing transmission lines in the northern corridor could fail if
the heat continued for another week.</p>
<h2>What comes next</h2>
<p>The energy ministry is expected to publish an emergency plan on Friday, including incentives
for large users to cut consumption at peak hours.</p>
</article>
<section id="comments" class="comments"><h3>Comments</h3>
<div class="comment"><p>READER-COMMENT: this is a reader comment, not the article.</p></div>
</section>
<footer>Copyright 2025 Example News. All rights reserved.</footer>
</body></html>
"""

PDF_PAGES = [
    [
        "Quarterly Risk Review",
        "The committee met on 12 February 2026 to review supply risks.",
        "Shipping delays through the northern strait doubled insurance costs for carriers.",
    ],
    [
        "The second page discusses semiconductor supply.",
        "Inventories of advanced chips fell to six weeks of demand in January.",
    ],
    [
        "The third page lists the recommendations of the committee.",
        "It recommends a strategic reserve of critical minerals worth 400 million.",
    ],
]


def make_pdf(path: Path, pages: list[list[str]] = PDF_PAGES, title: str | None = None) -> Path:
    """A real multi-page PDF with one paragraph per line of ``pages``."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    if title:
        c.setTitle(title)
    for lines in pages:
        y = 780
        for line in lines:
            c.drawString(72, y, line)
            y -= 40  # a gap wide enough to read as a new paragraph
        c.showPage()
    c.save()
    return path


def make_docx(path: Path) -> Path:
    """A real .docx with a title, headings, paragraphs, a list and a table."""
    import docx

    d = docx.Document()
    d.core_properties.title = "Board memo on data centres"
    d.add_heading("Board memo on data centres", level=1)
    d.add_paragraph("The board asked for options to cut the energy use of our data centres.")
    d.add_heading("Options", level=2)
    d.add_paragraph("Move cold storage to the northern site.", style="List Bullet")
    d.add_paragraph("Replace the chillers at the city site by 2027.", style="List Bullet")
    d.add_heading("Costs", level=2)
    d.add_paragraph("The chiller replacement costs 3.2 million and saves 18 per cent of energy.")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Site"
    table.cell(0, 1).text = "Energy use (GWh)"
    table.cell(1, 0).text = "City"
    table.cell(1, 1).text = "41"
    d.save(str(path))
    return path
