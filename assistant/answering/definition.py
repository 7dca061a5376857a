""" "What is Kestrel?": the sentence that says what a named thing is.

A question that asks what a name is ("What is DeepSeek?", "Who is Priya Raman?") is answered
by the sentence that introduces the name with a description: an appositive ("Priya Raman,
Kestrel's founder, ..."), a noun just before the name ("Indian start-up Kestrel Dynamics"), or
a copula ("Kestrel is a launch company"). Closeness in words finds any sentence that mentions
the name, and a news story mentions its subject in most of them. Among the candidates that
introduce the name, the one standing first in its document wins: stories say what a thing is
when they first name it.
"""

from __future__ import annotations

import re

from assistant.answering.extractive import Candidate

_ASKS = re.compile(
    r"^\W*(?i:what|who)\s+(?i:is|are|was|were)\s+(?:the\s+)?"
    r"(?P<name>[A-Z][\w.&'’-]*(?:\s+[A-Z][\w.&'’-]*){0,3})\s*\??\s*$"
)
#: Words that describe what something is when they stand just before its name.
_KINDS = (
    r"start-?ups?|company|companies|firm|firms|maker|makers|group|agency|lab|laboratory|"
    r"developer|manufacturer|operator|provider|rival|brand|platform|outfit|model|"
    r"founder|chief|executive|director|minister|president|analyst|researcher|fellow|professor|"
    r"spokesperson|spokesman|spokeswoman|official|commissioner|investor|engineer"
)


def asked_name(question: str) -> str | None:
    """The name a "what is / who is" question asks about, or None."""
    m = _ASKS.match(question.strip())
    return m.group("name") if m else None


def introduces(name: str, sentence: str) -> bool:
    """Whether ``sentence`` says what ``name`` is (only its first word need match:
    "Kestrel" in "Kestrel Dynamics")."""
    first = re.escape(name.split()[0])
    return bool(
        re.search(rf"\b(?:{_KINDS}),?\s+(?:[A-Z][\w-]*\s+)?{first}\b", sentence, re.I)
        or re.search(
            rf"\b{first}(?:\s+[A-Z][\w-]*)*\s*,\s+(?:a|an|the|its|[\w’']+’s|[\w']+'s)\s", sentence
        )
        or re.search(rf"\b{first}(?:\s+[A-Z][\w-]*)*\s+(?:is|was|are)\s+(?:a|an|the)\s", sentence)
    )


def defining(question: str, found: list[Candidate]) -> Candidate | None:
    """The candidate that introduces the name a "what is" question asks about, or None."""
    name = asked_name(question)
    if name is None:
        return None
    hits = [c for c in found if introduces(name, c.text)]
    return min(hits, key=lambda c: c.start) if hits else None
