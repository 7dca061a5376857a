"""Answers and documents as HTML and Markdown for the web faces, always as text, never as markup.

Everything that comes from a document (its text, title, source) or from a language model is
escaped before it reaches a page: a document holding ``<script>`` shows those characters. Links
to the document viewer (``/view/<collection>/<doc_id>?start=..&end=..``) carry the exact
character offsets of a quote, so the viewer can highlight it in the stored cleaned text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from assistant.answering.answer import Answer, Citation
from assistant.index.passages import Passage

if TYPE_CHECKING:
    from assistant.index.registry import DocumentRecord

MARKER = re.compile(r"\[(\d+)\]")
#: Characters that mean something to Markdown; escaped with a backslash in answer text.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
#: The short-answer line of a finished answer in the chat (``short_markdown``): its opening
#: and closing tags, removed with what lies between (``_without_short_blocks``).
_SHORT_OPEN, _SHORT_CLOSE = '<div class="ba-short">', "</div>"
#: A marker's link in the chat's Markdown, and one of our own tags (``plain_text``).
_MARKER_LINK = re.compile(r"\[\\\[(\d+)\\\]\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")
#: How much of the paragraph around a quote a source card shows, each side.
CONTEXT_CHARS = 320


def escape_markdown(text: str) -> str:
    """``text`` shown literally by a Markdown renderer: HTML and Markdown syntax neutralised."""
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


#: ``sign(collection, doc_id, start, end)``: the query parameters a viewer link carries
#: (``assistant/faces/view_links.py``), or None when links need none (no API keys).
Signer = Callable[[str, str, int, int], dict[str, str] | None]


def view_url(collection: str, doc_id: str, start: int, end: int, sign: Signer | None = None) -> str:
    """The viewer's address for a span of a document, signed by ``sign`` when given."""
    params: dict[str, str | int] = {"start": start, "end": end}
    params.update((sign(collection, doc_id, start, end) if sign else None) or {})
    return f"/view/{quote(collection, safe='')}/{quote(doc_id, safe='')}?{urlencode(params)}#hl"


def citation_url(collection: str, citation: Citation, sign: Signer | None = None) -> str:
    return view_url(collection, citation.doc_id, citation.start, citation.end, sign)


def with_view(item: dict[str, Any], collection: str, sign: Signer | None) -> dict[str, Any]:
    """A citation's or passage's plain data (``doc_id``, ``start``, ``end``) with ``view``: its
    viewer address (a path on this server), signed when the server has API keys."""
    item["view"] = view_url(collection, item["doc_id"], item["start"], item["end"], sign)
    return item


def answer_with_views(answer: Answer, collection: str, sign: Signer | None) -> dict[str, Any]:
    """``Answer.to_dict()``, each citation and related passage with its ``view`` address, and
    ``short_view`` (the viewer with the short answer highlighted) when there is a short answer."""
    data = answer.to_dict()
    for item in (*data["citations"], *data["related"]):
        with_view(item, collection, sign)
    data["short_view"] = short_view(answer, collection, sign)
    return data


def short_view(answer: Answer, collection: str, sign: Signer | None = None) -> str | None:
    """The viewer's address with the short answer highlighted, or None without one."""
    cite = _short_citation(answer)
    if not answer.short or cite is None or answer.short_start is None:
        return None
    end = answer.short_end if answer.short_end is not None else answer.short_start
    return view_url(collection, cite.doc_id, answer.short_start, end, sign)


def _short_citation(answer: Answer) -> Citation | None:
    """The citation whose quote holds the short answer, if there is one."""
    return next((c for c in answer.citations if c.n == answer.short_citation), None)


#: Shown after a sentence that its cited passage does not support.
UNSUPPORTED = '<span class="ba-flag">⚠ not supported by the cited source</span>'


def final_markdown(answer: Answer, collection: str, sign: Signer | None = None) -> str:
    """The finished answer for the chat: as ``answer_markdown``, each sentence that its cited
    passage does not support flagged."""
    cites = {c.n: c for c in answer.citations}
    if answer.abstained or not answer.sentences:
        return answer_markdown(
            answer.text, cites, collection, abstained=answer.abstained, sign=sign
        )
    parts = []
    for sentence in answer.sentences:
        body = sentence.text + "".join(f" [{n}]" for n in sentence.citations)
        part = answer_markdown(body, cites, collection, sign=sign)
        parts.append(part if sentence.supported else f"{part} {UNSUPPORTED}")
    return short_markdown(answer, collection, sign) + " ".join(parts)


def short_markdown(answer: Answer, collection: str, sign: Signer | None = None) -> str:
    """The short answer as a line above the cited sentences ("**Answer: Priya Raman** [1]"),
    escaped, with the marker of the citation it lies in (a link to that quote, as the markers
    of the sentences are); empty when there is none."""
    cite = _short_citation(answer)
    if not answer.short or cite is None:
        return ""
    marker = answer_markdown(f"[{cite.n}]", {cite.n: cite}, collection, sign=sign)
    line = f"**Answer: {escape_markdown(answer.short)}** {marker}"
    return f'<div class="ba-short">\n\n{line}\n\n</div>\n\n'


def answer_markdown(
    text: str,
    citations: dict[int, Citation],
    collection: str,
    abstained: bool = False,
    sign: Signer | None = None,
) -> str:
    """An answer for the chat: escaped text, each known marker a link to its quote.

    Markers whose citation is not known yet (while streaming) stay as plain ``[n]``.
    """
    out = []
    pos = 0
    for m in MARKER.finditer(text):
        out.append(escape_markdown(text[pos : m.start()]))
        n = int(m.group(1))
        cite = citations.get(n)
        if cite is None:
            out.append(escape_markdown(m.group(0)))
        else:
            hover = f"{cite.title} — {cite.location}".replace('"', "'")
            hover = escape_markdown(hover)
            out.append(f'[\\[{n}\\]]({citation_url(collection, cite, sign)} "{hover}")')
        pos = m.end()
    out.append(escape_markdown(text[pos:]))
    body = "".join(out)
    if abstained:
        return (
            '<div class="ba-notfound">\n\n**Not found in your documents.** '
            + body
            + " The closest passages are under *Sources*.\n\n</div>"
        )
    return body


def plain_text(content: Any) -> str:
    """The words of a chat message as the user saw them (for follow-up questions)."""
    if isinstance(content, list):
        content = " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    elif isinstance(content, dict):
        content = str(content.get("text", ""))
    text = str(content or "")
    # The short answer repeats words of the sentences below it: not part of the conversation.
    text = _without_short_blocks(text)
    text = _sub_closed(_MARKER_LINK, r"[\1]", text, ")")  # marker links
    text = _sub_closed(_TAG, "", text, ">")  # our own wrapper tags; document text is escaped
    text = re.sub(r"\\(.)", r"\1", text)
    text = text.replace("**Not found in your documents.** ", "").replace(UNSUPPORTED, "")
    return html.unescape(text).strip()


def _without_short_blocks(text: str) -> str:
    """``text`` without its short-answer blocks (and the white space after each), in one pass:
    a block that is never closed is left as it is (a pattern searching for the close from each
    opening took time quadratic in the text's length)."""
    out, pos = [], 0
    while (start := text.find(_SHORT_OPEN, pos)) >= 0:
        end = text.find(_SHORT_CLOSE, start + len(_SHORT_OPEN))
        if end < 0:
            break
        out.append(text[pos:start])
        pos = end + len(_SHORT_CLOSE)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return "".join(out) + text[pos:]


def _sub_closed(pattern: re.Pattern[str], repl: str, text: str, close: str) -> str:
    """``pattern.sub(repl, text)`` for a pattern that ends at the first ``close`` after its
    start, in time linear in the text: only up to the last ``close``, where every attempt finds
    one (after it, every attempt would scan to the end in vain, and the search retries at
    every position)."""
    last = text.rfind(close) + 1
    return pattern.sub(repl, text[:last]) + text[last:]


def _context(text: str, start: int, end: int, width: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The paragraph around ``[start, end)``, cut at about ``width`` characters each side."""
    left = text.rfind("\n\n", 0, start)
    left = 0 if left < 0 else left + 2
    right = text.find("\n\n", end)
    right = len(text) if right < 0 else right
    if start - left > width:
        cut = text.find(" ", start - width, start)
        left = cut + 1 if cut >= 0 else start - width
    if right - end > width:
        cut = text.rfind(" ", end, end + width)
        right = cut if cut > end else end + width
    return left, right


def highlighted(text: str, start: int, end: int, context: bool = True) -> str:
    """HTML of the quote ``text[start:end]`` marked inside its surrounding paragraph."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    left, right = _context(text, start, end) if context else (0, len(text))
    before = html.escape(text[left:start])
    after = html.escape(text[end:right])
    mark = html.escape(text[start:end])
    lead = "… " if left > 0 and context else ""
    tail = " …" if right < len(text) and context else ""
    return f"{lead}{before}<mark>{mark}</mark>{after}{tail}"


DocumentText = Callable[[str], str | None]


def sources_html(
    answer: Answer | None,
    collection: str,
    document_text: DocumentText,
    sign: Signer | None = None,
) -> str:
    """The sources panel: each citation's quote in its paragraph, or the related passages."""
    if answer is None:
        return (
            '<div class="ba-sources ba-empty">Ask a question: the passages that support the '
            "answer appear here, with the quoted words highlighted.</div>"
        )
    if answer.abstained or not answer.citations:
        return _related_html(answer.related, collection, document_text, sign)
    cards = []
    for c in answer.citations:
        text = document_text(c.doc_id)
        body = (
            highlighted(text, c.start, c.end)
            if text is not None
            else f"<mark>{html.escape(c.quote)}</mark>"
        )
        flag = (
            ""
            if c.supported
            else '<p class="ba-unsupported">Not supported by this passage: check the source.</p>'
        )
        cards.append(
            f'<li class="ba-source" id="ba-source-{c.n}">'
            f'<a class="ba-open" href="{html.escape(citation_url(collection, c, sign))}">'
            f'<span class="ba-n">[{c.n}]</span> {html.escape(c.title)}</a>'
            f'<div class="ba-loc">{html.escape(c.location)}</div>'
            f"{flag}<blockquote>{body}</blockquote></li>"
        )
    return (
        '<div class="ba-sources"><h3>Sources</h3><ol class="ba-list">'
        + "".join(cards)
        + "</ol></div>"
    )


def _related_html(
    related: list[Passage],
    collection: str,
    document_text: DocumentText,
    sign: Signer | None = None,
) -> str:
    if not related:
        return (
            '<div class="ba-sources ba-abstained"><h3>Not found in your documents</h3>'
            "<p>No passage came close to this question.</p></div>"
        )
    cards = []
    for p in related:
        text = document_text(p.doc_id)
        body = html.escape(p.text) if text is None else html.escape(text[p.start : p.end])
        url = view_url(collection, p.doc_id, p.start, p.end, sign)
        cards.append(
            f'<li class="ba-source ba-related">'
            f'<a class="ba-open" href="{html.escape(url)}">{html.escape(p.title)}</a>'
            f'<div class="ba-loc">{html.escape(p.location)}</div>'
            f"<blockquote>{body}</blockquote></li>"
        )
    return (
        '<div class="ba-sources ba-abstained"><h3>Not found in your documents</h3>'
        "<p>These passages came closest, but none of them answers the question.</p>"
        '<ul class="ba-list">' + "".join(cards) + "</ul></div>"
    )


VIEWER_CSS = """
body { font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2328; background: #fff; }
header { position: sticky; top: 0; background: #f6f8fa; border-bottom: 1px solid #d0d7de;
         padding: 10px 18px; }
header h1 { font-size: 18px; margin: 0 0 2px; }
header .meta { font-size: 13px; color: #59636e; overflow-wrap: anywhere; }
main { padding: 14px 18px 40px; max-width: 760px; white-space: pre-wrap;
       overflow-wrap: anywhere; }
mark { background: #ffe58a; padding: 1px 0; outline: 2px solid #f2c200; border-radius: 2px;
       scroll-margin-top: 120px; }
.missing { padding: 24px; }
"""


#: Characters an excerpt (``viewer_page(paragraph=True)``) shows at most on each side of its
#: span, however long the paragraph around it.
EXCERPT_CONTEXT_CHARS = 1500


def viewer_page(
    record: DocumentRecord | None,
    start: int,
    end: int,
    source: str | None = None,
    paragraph: bool = False,
) -> str:
    """A whole document as a page, the span ``[start, end)`` highlighted (id ``hl``); with
    ``paragraph``, only the paragraph(s) holding the span (at most ``EXCERPT_CONTEXT_CHARS``
    on each side of it).

    ``source`` is how to name where it came from (default: the stored path or URL).
    """
    if record is None:
        return _viewer_notice("Not found", "This document is no longer in the collection.")
    text = record.text
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    first, last = 0, len(text)
    if paragraph:  # paragraphs are separated by a blank line in the stored text
        before = text.rfind("\n\n", 0, start)
        first = max(before + 2 if before >= 0 else 0, start - EXCERPT_CONTEXT_CHARS)
        after = text.find("\n\n", end)
        last = min(after if after >= 0 else len(text), end + EXCERPT_CONTEXT_CHARS)
    body = (
        ("… " if first > 0 else "")
        + html.escape(text[first:start])
        + f'<mark id="hl">{html.escape(text[start:end])}</mark>'
        + html.escape(text[end:last])
        + (" …" if last < len(text) else "")
    )
    meta = " · ".join(x for x in (record.date, source or record.source) if x)
    if paragraph:
        meta += " · an excerpt: the passage an answer cited"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(record.title)}</title><style>{VIEWER_CSS}</style></head><body>"
        f"<header><h1>{html.escape(record.title)}</h1>"
        f"<div class='meta'>{html.escape(meta)}</div></header>"
        f"<main>{body}</main></body></html>"
    )


def _viewer_notice(title: str, message: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{VIEWER_CSS}</style></head><body>"
        f"<p class='missing'>{html.escape(message)}</p></body></html>"
    )


def viewer_refused_page(expired: bool = False) -> str:
    """The viewer's answer to a link without a valid token (the server has API keys), or
    whose time is up."""
    if expired:
        return _viewer_notice(
            "Link expired",
            "This link to a document has expired: ask again, and open the document from a "
            "citation in the new answer.",
        )
    return _viewer_notice(
        "Link not valid",
        "This link to a document is not valid here: open the document from a citation in an "
        "answer.",
    )
