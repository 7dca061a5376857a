"""Reading a question: its key terms and the kind of answer it expects.

The offline answerer and the abstention decision both ask: does this sentence contain what
the question asks for? "Who" wants a person, "when" a date, "how much/many" a number or an
amount, "where" a place, "how long" a duration. The detectors are patterns over English news
and report prose; they only need to say whether such a thing is present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.lexical import tokenize

_SPEECH_VERBS = (
    "say|says|said|argue|argued|claim|claimed|warn|warned|think|believe|suggest|add|added|"
    "note|noted|tell|told|state|stated|comment|commented|describe|described|call|called"
)
_TYPE_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            rf"\bwhat (did|does|do|has|have|had|was|is)\b.{{0,80}}\b({_SPEECH_VERBS})\b"
            r"|\bwhat (was|is|were|are) .{0,60}\b(view|views|position|reaction|comment|remark)",
            re.I,
        ),
        "statement",
    ),
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
            r"\bhow (much|many|big|large|small|expensive|costly|high|far|old)\b"
            r"|\bwhat (percentage|share|proportion|amount|number|price|sum|"
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
#: A number: digits not glued to a letter before them ("R1", "H800" and "V3" are names), a
#: currency or percent sign, or a number word.
_NUMBER = re.compile(
    r"(?<!\w)\d|[$€£¥%]|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
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
_STATEMENT = re.compile(
    r"[\"“”]|\b(said|says|argued|noted|added|warned|stated|told|claimed|suggested|likened|"
    r"called|described|acknowledged|questioned|concluded|according to)\b",
    re.I,
)
_SPEECH_TERMS = frozenset(tokenize([_SPEECH_VERBS.replace("|", " ")])[0])
_PLACE = re.compile(r"\b(in|at|from|near|based in|headquartered in) (the )?[A-Z][a-z]+")


@dataclass
class Question:
    """A question as the answerer uses it."""

    text: str
    terms: list[str]  # stemmed key terms, stop words removed, in order, unique
    #: "person", "date", "number", "place", "duration", "statement", "instance" or None
    kind: str | None
    #: For "which chips...": the thing of which a named instance is wanted ("chips").
    focus: str | None = None


_WHICH = re.compile(r"\b(?:which|what)\s+(?:kind of |type of |sort of )?([a-z][a-z-]{2,})\b", re.I)
#: "how many", "how long"...: the words after "how" name the kind of answer, not its content.
_HOW = re.compile(r"\bhow\s+(many|much|long|often|old|far)\b", re.I)
_NOT_A_NOUN = frozenset(
    "is are was were do does did has have had can could will would should may might must "
    "happened happens kind type sort".split()
)


@lru_cache(maxsize=1)
def _question_stop() -> frozenset[str]:
    """Words that carry no key content in a question: NLTK's English stop words, stemmed."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(tokenize([" ".join(STOPWORDS_EN_PLUS)])[0]) | frozenset(STOPWORDS_EN_PLUS)


def analyse(text: str) -> Question:
    """Key terms and expected answer type of a question."""
    stop = _question_stop()
    terms = [t for t in dict.fromkeys(tokenize([text])[0]) if t not in stop]
    kind = next((k for pattern, k in _TYPE_RULES if pattern.search(text)), None)
    focus = None
    which = _WHICH.search(text)
    if kind is None and which and which.group(1).lower() not in _NOT_A_NOUN:
        kind, focus = "instance", which.group(1).lower()
    if kind == "statement":
        # "What did Heim say?": the answer says it in its own words; "say" is not a key term.
        terms = [t for t in terms if t not in _SPEECH_TERMS] or terms
    asked = _HOW.findall(text)
    if asked:
        # "How many meteors": "many" asks for the number; the answer says "101", not "many".
        words = set(tokenize([" ".join(asked).lower()])[0])
        terms = [t for t in terms if t not in words] or terms
    return Question(text=text, terms=terms, kind=kind, focus=focus)


def has_kind(sentence: str, kind: str | None, focus: str | None = None) -> bool:
    """Whether ``sentence`` contains something of the expected answer type."""
    if kind is None:
        return False
    if kind == "instance":
        return bool(focus) and _names_an_instance(sentence, focus or "")
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "duration":
        return bool(_DURATION.search(sentence))
    if kind == "statement":
        return bool(_STATEMENT.search(sentence))
    if kind == "place":
        return bool(_PLACE.search(sentence))
    if kind == "person":
        # A capitalised name that is not just the sentence's first word.
        return any(m.start() > 0 or " " in m.group(0) for m in _NAME.finditer(sentence))
    return False


def _names_an_instance(sentence: str, focus: str) -> bool:
    """A named or coded thing of the focus kind: "H800 chips", "the Nvidia A100 chip"."""
    stem = focus[:-1] if focus.endswith("s") and len(focus) > 3 else focus
    pattern = rf"\b(?:[A-Z0-9][\w.-]*\s+){{1,3}}{re.escape(stem)}s?\b"
    return bool(re.search(pattern, sentence))


def names(text: str) -> list[str]:
    """Multi-word proper names in ``text`` ("Liang Wenfeng"), in order of appearance."""
    found = [m.group(0) for m in _NAME.finditer(text) if " " in m.group(0)]
    return list(dict.fromkeys(found))


_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,30}\b(instructions?|prompts?|rules|guidelines)\b"
    r"|\b(reply|respond|answer) (only )?with\b|\byou are now\b|\bsystem prompt\b"
    r"|\bnew instructions?\b|\bdo not (tell|mention|reveal)\b",
    re.I,
)


def is_instruction(sentence: str) -> bool:
    """Whether a sentence of a document reads as an instruction to an assistant.

    Such a sentence is never an answer and never supports one: quoting or following it would
    let a document steer the assistant.
    """
    return bool(_INSTRUCTION.search(sentence))
