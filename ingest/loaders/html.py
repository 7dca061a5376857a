"""HTML pages: the article only, through trafilatura, with headings, title and date.

Menus, scripts, styles, cookie banners, footers and comment sections are left out by the
extractor. When it finds no article (a very short page), a plain visible-text fallback keeps
the paragraphs and still drops scripts, styles, navigation and forms.
"""

from __future__ import annotations

import re

from assistant.errors import EmptyDocument
from ingest.loaders.base import Extracted, parse_any_date, title_from_name
from ingest.loaders.text import decode
from ingest.normalize import Block

_SKIP_TAGS = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form"}
_SKIP_TAGS |= {"button", "select", "svg", "iframe", "object", "embed", "canvas"}
_BLOCK_TAGS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "td", "th", "dd"}
_BLOCK_TAGS |= {"dt", "figcaption", "caption"}
_CONTAINERS = {"item", "cell", "quote"}
# Characters XML forbids: lxml parses them from HTML but refuses them when the tree is edited
# (ValueError "All strings must be XML compatible"), so a stray one used to fail the page.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_blocks(xml: str) -> list[Block]:
    """Blocks from trafilatura's XML output: ``head``, ``p``, ``item``, table ``row``, ``quote``."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"), parser=etree.XMLParser(recover=True))
    main = root.find("main") if root is not None else None
    if main is None:
        return []
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    for el in main.iter("head", "p", "item", "row", "quote", "code"):
        text = (
            " ".join("".join(el.itertext()).split()) if el.tag != "code" else "".join(el.itertext())
        )
        parent = el.getparent()
        if el.tag in ("p", "quote", "code") and parent is not None and parent.tag in _CONTAINERS:
            continue  # its text is counted with its container
        if el.tag == "row":
            cells = [" ".join("".join(c.itertext()).split()) for c in el.iter("cell")]
            text = " | ".join(c for c in cells if c)
        if not text.strip():
            continue
        if el.tag == "head":
            rend = el.get("rend", "h2")
            level = int(rend[1]) if len(rend) == 2 and rend[1].isdigit() else 2
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
            blocks.append(Block(text=text, heading=tuple(t for _, t in path), is_heading=True))
        else:
            prefix = "• " if el.tag == "item" else ""
            blocks.append(Block(text=prefix + text, heading=tuple(t for _, t in path)))
    return blocks


def _fallback_blocks(html: str) -> list[Block]:
    """Visible block-level text of a page that the article extractor declined."""
    import lxml.html

    try:
        tree = lxml.html.document_fromstring(html)
    except Exception:  # lxml raises several types on junk; junk simply has no text
        return []
    for el in list(tree.iter(*_SKIP_TAGS)):
        el.drop_tree()
    blocks = []
    for el in tree.iter(*_BLOCK_TAGS):
        if any(anc.tag in _BLOCK_TAGS for anc in el.iterancestors()):
            continue
        text = " ".join(el.text_content().split())
        if text:
            blocks.append(Block(text=text, is_heading=el.tag[0] == "h" and el.tag[1:].isdigit()))
    if not blocks:
        body = tree.find("body")
        text = " ".join((body if body is not None else tree).text_content().split())
        if text:
            blocks.append(Block(text=text))
    return blocks


def extract_html(html: str, name: str, url: str | None = None) -> Extracted:
    """The article of an HTML page as blocks, with its title and publication date."""
    import trafilatura

    html = _NOT_XML.sub(" ", html)
    try:
        xml = trafilatura.extract(
            html,
            url=url,
            output_format="xml",
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            with_metadata=False,
        )
    except MemoryError:
        raise
    except Exception:  # trafilatura can trip over its own output on odd markup (XMLSyntaxError)
        xml = None  # the visible-text fallback reads such a page
    blocks = _xml_blocks(xml) if xml else []
    if not blocks:
        blocks = _fallback_blocks(html)
    if not blocks:
        raise EmptyDocument("the page holds no readable text")
    try:
        meta = trafilatura.extract_metadata(html, default_url=url)
    except MemoryError:
        raise
    except Exception:  # a page without readable metadata still has its text
        meta = None
    title = (meta.title if meta and meta.title else None) or _first_heading(blocks)
    date = parse_any_date(meta.date) if meta and meta.date else None
    return Extracted(
        blocks=blocks,
        title=title or title_from_name(url or name),
        date=date,
        kind="html",
    )


def _first_heading(blocks: list[Block]) -> str | None:
    return next((b.text for b in blocks if b.is_heading), None)


def load_html(data: bytes, name: str, url: str | None = None) -> Extracted:
    """An HTML file from disk, or a page downloaded from ``url``."""
    return extract_html(decode(data), name, url=url)
