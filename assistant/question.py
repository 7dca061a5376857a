"""Reading a question: its key terms and the kind of answer it expects.

The offline answerer and the abstention decision both ask: does this sentence contain what
the question asks for? "Who" wants a person, "when" a date, "how much/many" a number or an
amount, "where" a place, "how long" a duration. The detectors are patterns over English news
and report prose; they only need to say whether such a thing is present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.lexical import tokenize

_TYPE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\W*(who|whom|whose)\b|\bwho (said|says|told|argued|warned)\b", re.I), "person"),
    (
        re.compile(
            r"^\W*when\b|\bwhat (year|date|day|month|time)\b|\b(in|by) (what|which) year\b"
            r"|\bsince when\b",
            re.I,
        ),
        "date",
    ),
    (re.compile(r"\bhow long\b|\bfor how many (days|weeks|months|years)\b", re.I), "duration"),
    (
        re.compile(
            r"\bhow (much|many)\b|\bwhat (percentage|share|proportion|amount|number|price|sum|"
            r"figure|rate|size)\b|\b(cost|price|worth)\b",
            re.I,
        ),
        "number",
    ),
    (
        re.compile(
            r"^\W*where\b|\bwhat (city|country|place|region|town|state|province)\b"
            r"|\bin which (city|country|region|town)\b",
            re.I,
        ),
        "place",
    ),
]

_MONTHS = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_DATE = re.compile(
    rf"\b{_MONTHS}\b|\b(1[6-9]|20)\d\d(s)?\b|\b(Monday|Tuesday|Wednesday|Thursday|Friday|"
    r"Saturday|Sunday|yesterday|today|tomorrow|last (week|month|year)|next (week|month|year))\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(century|decade)\b",
    re.I,
)
_NUMBER = re.compile(
    r"\d|[$€£¥%]|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
    r"thirty|forty|fifty|hundred|thousand|million|billion|trillion|dozen|half|quarter|"
    r"per ?cent|percent)\b",
    re.I,
)
_DURATION = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few)[- ]"
    r"(second|minute|hour|day|week|month|year|decade)s?\b",
    re.I,
)
# Two or more capitalised words in a row ("Liang Wenfeng", "Marc Andreessen"), or a title.
_NAME = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|Prof|President|Senator|Minister|Chancellor|Governor|Mayor)\.? [A-Z]"
    r"|\b[A-Z][a-z'’\-]+(?: (?:[A-Z]\.|van|von|de|al|bin|da|di|[A-Z][a-z'’\-]+))+"
)
_PLACE = re.compile(r"\b(in|at|from|near|based in|headquartered in) (the )?[A-Z][a-z]+")


@dataclass
class Question:
    """A question as the answerer uses it."""

    text: str
    terms: list[str]  # stemmed key terms, stop words removed, in order, unique
    kind: str | None  # "person", "date", "number", "place", "duration" or None


def analyse(text: str) -> Question:
    """Key terms and expected answer type of a question."""
    terms = list(dict.fromkeys(tokenize([text])[0]))
    kind = next((k for pattern, k in _TYPE_RULES if pattern.search(text)), None)
    return Question(text=text, terms=terms, kind=kind)


def has_kind(sentence: str, kind: str | None) -> bool:
    """Whether ``sentence`` contains something of the expected answer type."""
    if kind is None:
        return False
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "duration":
        return bool(_DURATION.search(sentence))
    if kind == "place":
        return bool(_PLACE.search(sentence))
    if kind == "person":
        # A capitalised name that is not just the sentence's first word.
        return any(m.start() > 0 or " " in m.group(0) for m in _NAME.finditer(sentence))
    return False


def names(text: str) -> list[str]:
    """Multi-word proper names in ``text`` ("Liang Wenfeng"), in order of appearance."""
    found = [m.group(0) for m in _NAME.finditer(text) if " " in m.group(0)]
    return list(dict.fromkeys(found))
