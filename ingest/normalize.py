"""Cleaning extracted text, and assembling blocks into one document text with its layout.

Loaders hand over ``Block``s (a paragraph, heading, list item or table row, with the page or
heading path it belongs to). Here each block is cleaned (Unicode NFC, one kind of space, no
control characters, ``word.Word`` run-ons split), trailing web boilerplate is removed, and the
blocks are joined with blank lines into the document text whose offsets every chunk and
citation refers to.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Block:
    """A piece of a document as a loader found it."""

    text: str
    page: int | None = None
    #: Headings above this block, outermost first ("Report", "Findings").
    heading: tuple[str, ...] = ()
    is_heading: bool = False


@dataclass
class Assembled:
    """A document's cleaned text and where its pages and sections start."""

    text: str
    layout: dict[str, Any] = field(default_factory=dict)


# Characters that are space in all but name; zero-width ones are dropped outright.
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\v\f]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MULTI_SPACE = re.compile(r" {2,}")
# "OpenAI.Remarkably": a sentence end glued to the next sentence by a lost space.
_RUN_ON = re.compile(r"(?<=[A-Za-z0-9)\]\"”’%][A-Za-z0-9)\]\"”’%])([.!?])(?=[A-Z][a-z])")
_URLISH = re.compile(r"(://|www\.|@|\.(com|org|net|gov|edu|io)\b)", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*([-*•‣◦▪–]|\d{1,3}[.)]|[a-z][.)])\s+")


def split_run_ons(text: str) -> str:
    """Insert the space lost between two sentences, as in ``OpenAI.Remarkably``; leaves URLs."""
    if "." not in text and "!" not in text and "?" not in text:
        return text
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) > 4 and not _URLISH.search(word):
            words[i] = _RUN_ON.sub(r"\1 ", word)
    return " ".join(words)


def clean_inline(text: str) -> str:
    """Normalise one block: NFC, plain spaces, no control characters, single spaces per line."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _CONTROL.sub("", text)
    lines = [_MULTI_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(line for line in lines if line)
    return split_run_ons(text)


def join_wrapped_lines(text: str, dehyphenate: bool = False) -> str:
    """Join hard-wrapped lines of a paragraph with spaces, keeping list items on their own lines."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return ""
    # Pieces are joined once at the end: growing one string line by line is quadratic, and a
    # 50 MB text file without blank lines is one paragraph of a million lines.
    out: list[list[str]] = [[lines[0]]]
    tail = lines[0][-2:]  # the last two characters of the line being built
    for line in lines[1:]:
        pieces = out[-1]
        if _LIST_MARKER.match(line):
            out.append([line])
            tail = line[-2:]
        elif dehyphenate and tail.endswith("-") and line[:1].islower() and tail[:1].isalpha():
            pieces[-1] = pieces[-1][:-1]
            pieces.append(line)
            tail = (tail[:1] + line)[-2:]
        else:
            pieces.append(" ")
            pieces.append(line)
            tail = (" " + line)[-2:]
    return "\n".join("".join(pieces) for pieces in out)


# Blocks at the end of web pages that are page furniture, not the article. A "hard" marker in
# the second half of a document cuts everything after it (the list of other posts that follows
# "Popular posts from this blog" is not part of the article); a "soft" one is dropped only
# while it stands at the very end.
_HARD_END = re.compile(
    r"^(\d+\s+)?(comments?|leave a (comment|reply)|post a comment|"
    r"popular posts( from this blog)?|related (posts|articles|stories|reading)|"
    r"you (may|might) also like|more from this (blog|author|site)|read next)\s*:?$",
    re.IGNORECASE,
)
_SOFT_END = re.compile(
    r"^(share( this( article| post| story)?)?( on \w+)?|like this|tweet|email|print|"
    r"advertisement|(labels?|tags?|categories|filed under)\s*:.*|posted by .{0,60}|"
    r"newer posts?|older posts?|home|newer posts? older posts? home|read more|"
    r"subscribe.{0,80}|sign up.{0,80}|follow us.{0,60}|loading\.*|"
    r"(©|copyright|\(c\)).{0,100}|all rights reserved\.?)\s*:?$",
    re.IGNORECASE,
)


def strip_boilerplate(blocks: list[Block]) -> list[Block]:
    """Drop trailing page furniture ("Comments", "Popular posts from this blog", "Share this")."""
    total = sum(len(b.text) for b in blocks)
    seen = 0
    for i, block in enumerate(blocks):
        text = block.text.strip()
        # Only in the last quarter of the text: a report may well have a "Comments" section.
        if i and seen >= 0.75 * total and len(text) <= 60 and _HARD_END.match(text):
            blocks = blocks[:i]
            break
        seen += len(block.text)
    while len(blocks) > 1:
        text = blocks[-1].text.strip()
        if len(text) <= 120 and (_SOFT_END.match(text) or _HARD_END.match(text)):
            blocks = blocks[:-1]
            continue
        break
    return blocks


def assemble(blocks: list[Block]) -> Assembled:
    """Join cleaned blocks with blank lines; record where each page and section starts."""
    parts: list[str] = []
    pages: list[list[int]] = []  # [offset, page number]: JSON's pairs
    sections: list[list[int | str]] = []  # [offset, heading path]
    offset = 0
    for block in blocks:
        if not block.text:
            continue
        if parts:
            offset += 2  # the "\n\n" between blocks
        if block.page is not None and (not pages or pages[-1][1] != block.page):
            pages.append([offset, block.page])
        path = " > ".join(block.heading)
        if block.heading and (not sections or sections[-1][1] != path):
            sections.append([offset, path])
        parts.append(block.text)
        offset += len(block.text)
    layout: dict[str, Any] = {}
    if pages:
        layout["pages"] = pages
    if sections:
        layout["sections"] = sections
    return Assembled(text="\n\n".join(parts), layout=layout)


def clean_blocks(blocks: list[Block]) -> list[Block]:
    """Clean every block's text and drop the empty ones and the trailing boilerplate."""
    cleaned = []
    for block in blocks:
        text = clean_inline(block.text)
        # A blank line inside a block would read as a paragraph break; keep single newlines.
        text = re.sub(r"\n{2,}", "\n", text)
        if text:
            cleaned.append(
                Block(
                    text=text, page=block.page, heading=block.heading, is_heading=block.is_heading
                )
            )
    return strip_boilerplate(cleaned)
