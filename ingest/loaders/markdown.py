"""Markdown: plain text without the markup, with the heading path of every block.

Also used for what the HTML extractor returns, which is Markdown too.
"""

from __future__ import annotations

import re

from assistant.errors import EmptyDocument
from ingest.loaders.base import Extracted, find_date, parse_any_date, title_from_name
from ingest.loaders.text import check_length, decode
from ingest.normalize import Block

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML-style ``key: value`` lines between ``---`` fences at the top, and the rest."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[m.end() :]


def _inline_text(token: object) -> str:
    """Text of an inline token with emphasis, links and images reduced to their words."""
    out = []
    for child in getattr(token, "children", None) or []:
        if child.type in ("text", "code_inline", "html_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n" if child.type == "hardbreak" else " ")
        elif child.type == "image":
            out.append(child.content)  # its alt text
    return "".join(out)


def markdown_blocks(text: str) -> tuple[list[Block], str | None]:
    """Blocks of Markdown ``text`` with heading paths; also the first level-1 heading."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    tokens = md.parse(text)
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    first_h1: str | None = None
    list_depth = 0
    row: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            title = _inline_text(tokens[i + 1]).strip()
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, title))
            if level == 1 and first_h1 is None:
                first_h1 = title
            blocks.append(Block(text=title, heading=tuple(t for _, t in path), is_heading=True))
            i += 3
            continue
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            content = _inline_text(tok).strip()
            if list_depth and tokens[i - 2].type == "list_item_open":
                content = "• " + content
            if content:
                blocks.append(Block(text=content, heading=tuple(t for _, t in path)))
        elif tok.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(_inline_text(tok).strip())
        elif tok.type == "tr_close":
            if any(row):
                blocks.append(Block(text=" | ".join(row), heading=tuple(t for _, t in path)))
            row = []
        elif tok.type in ("fence", "code_block") and tok.content.strip():
            blocks.append(Block(text=tok.content.rstrip(), heading=tuple(t for _, t in path)))
        i += 1
    return blocks, first_h1


def load_markdown(data: bytes, name: str, max_chars: int | None = None) -> Extracted:
    """A Markdown document: title from front matter or the first ``#`` heading."""
    text = decode(data)
    check_length(text, max_chars)
    meta, body = _front_matter(text)
    blocks, first_h1 = markdown_blocks(body)
    if not blocks:
        raise EmptyDocument("the file holds no text")
    title = meta.get("title") or first_h1 or title_from_name(name)
    date = parse_any_date(meta.get("date")) or find_date(body[:2000])
    return Extracted(blocks=blocks, title=title, date=date, kind="markdown")
