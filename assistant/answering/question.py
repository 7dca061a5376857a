"""Reading a question: its key terms and the kind of answer it expects.

The offline answerer and the abstention decision both ask: does this sentence contain what
the question asks for? "Who" wants a person, "when" a date, "how much/many" a number or an
amount, "where" a place, "how long" a duration. The detectors are patterns over English news
and report prose; they only need to say whether such a thing is present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.index.lexical import query_stop, tokenize
from assistant.text.dates import MONTH, WEEKDAYS

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

_DATE = re.compile(
    rf"\b{MONTH}\b|\b(1[6-9]|20)\d\d(s)?\b|\b({WEEKDAYS}|yesterday|today|tomorrow|"
    r"last (week|month|year)|next (week|month|year))\b"
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
    r"[\"“”]|\b(said|says|argued|noted|added|warned|stated|told|claimed|suggested|"
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


def analyse(text: str) -> Question:
    """Key terms and expected answer type of a question."""
    stop = query_stop()
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


# --- overview questions ---------------------------------------------------------------------
# "What are the main points?", "Summarise the depot memo", "What is this collection about?":
# questions about a whole document or collection, answered from its key points
# (``assistant/briefing/overview.py``) instead of one sentence that resembles the question. The
# patterns are anchored at both ends, so a fact question that merely contains "about" or "main"
# ("What did Feld say about costs?", "What is the main engine Kestrel used?") never matches.

#: Words that name a document or a set of them ("the depot memo", "these files").
_DOC_NOUN = (
    r"(?:collection|documents?|docs?|files?|articles?|memos?|memorandum|reports?|papers?|"
    r"stor(?:y|ies)|pieces?|notes?|texts?|briefs?|briefings?|posts?|pages?|emails?|letters?|"
    r"sources?|uploads?|materials?|news)"
)
_POLITE = (
    r"^(?:(?:please|ok|okay|so|hi|hey|now)[,!]?\s+)*"
    r"(?:(?:can|could|would|will) you (?:please )?|i(?:'d| would) like (?:you )?(?:to )?"
    r"|i want (?:you )?(?:to )?|please )?"
)
_SIZE = r"(?:(?:short|brief|quick|general|high-level|rough|concise) )?"
_OVERVIEW_RULES = [
    # "Summarise this", "Sum up the depot memo", "Give me a short summary of the documents".
    re.compile(
        _POLITE + r"(?:summari[sz]e|sum up|recap|tl;?dr|"
        r"(?:give|show|write|provide) (?:me |us )?(?:an? |the )?"
        + _SIZE
        + r"(?:overview|summary|recap|rundown|synopsis|gist)(?: of)?|"
        r"(?:an? |the )?" + _SIZE + r"(?:overview|summary|recap|synopsis|gist)(?: of)?)"
        r"(?: (?P<target>.+?))?(?: (?:for|to) me)?(?: please)?$"
    ),
    # "What are the main points?", "What are the key points of the harbour strike article?"
    re.compile(
        _POLITE + r"what(?: are| were|'re|'s| is| was) (?:the )?"
        r"(?:main|key|major|most important|important|central|principal|essential) "
        r"(?:points?|takeaways?|ideas?|themes?|topics?|messages?|findings?|issues?|facts?|"
        r"arguments?|conclusions?|things?)"
        r"(?: (?:of|in|from|made in|raised in|covered in) (?P<target>.+?))?$"
    ),
    # "What's the gist?", "What is the gist of the memo?"
    re.compile(_POLITE + r"what(?: is|'s) the gist(?: of (?P<target>.+?))?$"),
    # "What is this collection about?", "What is the depot memo about?", "What's this about?"
    re.compile(
        _POLITE + r"what(?: is|'s| are|'re| was| were) (?P<target>(?:this|these|it|that|those)"
        r"|(?:(?:all|all of) )?(?:the|this|these|those|that|my|our|your) (?:[\w'’-]+ )*?"
        + _DOC_NOUN
        + r")(?: all)? about$"
    ),
    # "What do these documents cover?", "What does the memo say?"
    re.compile(
        _POLITE + r"what (?:does|do) (?P<target>(?:(?:all|all of) )?(?:the|this|these|those|that"
        r"|my|our|your) (?:[\w'’-]+ )*?"
        + _DOC_NOUN
        + r") (?:cover|say|discuss|talk about|deal with|contain)$"
    ),
]


def overview_target(text: str) -> str | None:
    """For an overview question, what it asks to be summarised in its own words ("" for the
    whole collection: "Summarise this", "What are the main points?"; "the depot memo" for
    "What is the depot memo about?"); None for any other question."""
    plain = " ".join(text.replace("’", "'").lower().split()).strip(" ?.!")
    for rule in _OVERVIEW_RULES:
        found = rule.match(plain)
        if found:
            return (found.groupdict().get("target") or "").strip(" ,")
    return None
