"""Sentence boundaries with character offsets, tuned for news, reports and memos.

Rule-based and fast: a sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes or
brackets) followed by white space and a capital, digit or opening quote; or at a line break.
Titles and common abbreviations ("Dr.", "e.g.", "Inc.") and initials ("J. Smith") do not end a
sentence; an acronym such as "U.S." does when the next word plainly starts a sentence.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt rev gen col lt sgt capt cmdr adm gov sen rep pres hon
    inc ltd co corp llc plc bros dept univ assn est
    e.g i.e etc vs cf al approx ca fig figs no nos vol vols pp p ed eds ch sec art para
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    """.split()
)
_STARTERS = frozenset(
    """
    The A An This That These Those It Its He She They We I You His Her Their Our In On At For
    But And However Yet So Meanwhile Still Then There Here When While After Before Although
    Some Many Most Such Other Others Officials Experts
    """.split()
)
_CANDIDATE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_NEXT_START = re.compile(r"\s+([\"'“‘(\[]?)([A-Z0-9À-ÖØ-Þ])")
_ACRONYM = re.compile(r"(?:[A-Za-z]\.){2,}$")
_WORD = re.compile(r"\w+")


def _is_boundary(text: str, end: int, mark_start: int, line_end: int) -> bool:
    """Whether the punctuation ending at ``end`` closes a sentence."""
    follow = _NEXT_START.match(text, end, line_end)
    if not follow:
        return False
    if text[mark_start] != ".":
        return True  # "!" and "?" followed by a capital always end a sentence
    word_start = text.rfind(" ", 0, mark_start) + 1
    word = text[word_start : mark_start + 1].lstrip("\"'“‘([")
    bare = word.rstrip(".").lower()
    if _ACRONYM.search(word):
        next_word = _WORD.match(text, follow.start(2))
        return bool(next_word and next_word.group(0) in _STARTERS)
    if bare in _ABBREVIATIONS:
        return False
    return not (len(bare) == 1 and bare.isalpha())  # an initial: "J. Smith"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences of ``text[start:end]``, in document offsets.

    Spans hold no leading or trailing white space and never cross a line break.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    line_start = start
    while line_start < end:
        nl = text.find("\n", line_start, end)
        line_end = end if nl == -1 else nl
        _split_line(text, line_start, line_end, spans)
        line_start = line_end + 1
    return spans


def _split_line(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    cursor = start
    for match in _CANDIDATE.finditer(text, start, end):
        if _is_boundary(text, match.end(), match.start(), end):
            _push(text, cursor, match.end(), spans)
            cursor = match.end()
    _push(text, cursor, end, spans)


def _push(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[a:b] for a, b in sentence_spans(text)]
