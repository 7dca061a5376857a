"""Key figures and dates: amounts, percentages, counts and dated events, read off sentences.

Patterns of English prose: "$5.6 million", "1.2 billion euros", "11 per cent", "40 container
ships", "a nine-day strike"; dates from "14 March 2026" and "late 2023" to a bare year. Numbers
inside names and codes ("H800", "R1", "V3") are not figures. What a figure measures is the
noun phrase it qualifies ("$500 billion Stargate project") or, failing that, the words of its
clause before it ("R1 chatbot was reportedly developed for just").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.index.passages import DocumentSentence
from assistant.text.dates import MONTH, MONTHS

_SCALE = r"(?:\s?(?:million|billion|trillion|bn|mn|thousand)\b|(?<=\d)[mk]\b)"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_START = r"(?<![\w.$€£¥\-/])"
_END = r"(?![\w%])"
_MONEY = re.compile(
    rf"{_START}(?:(?:US|A|C|NZ|HK|S)?[$€£¥]\s?(?:{_NUM}){_SCALE}?"
    rf"|(?:USD|EUR|GBP|CHF|JPY|CNY|RMB)\s?(?:{_NUM}){_SCALE}?"
    rf"|(?:{_NUM}){_SCALE}?\s(?:euros?|dollars?|pounds?|yuan|yen|francs?|rupees?|kronor|krona)\b)"
)
_PERCENT = re.compile(rf"{_START}(?:{_NUM})\s?(?:%|per ?cent\b|percent\b|percentage points?\b)")
_WORD_NUMBERS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    "forty|fifty|hundred"
)
_DURATION = re.compile(
    rf"\b(?:{_WORD_NUMBERS}|\d+)[- ](?:day|week|month|year|hour|decade)s?\b(?:[- ]long)?", re.I
)
_COUNT = re.compile(
    rf"{_START}(?:{_NUM})(?:\s(?:million|billion|trillion|thousand|hundred)\b"
    rf"|(?=\s+(?:more\s+|new\s+|additional\s+)?[a-z][a-z\-]+))"
)
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_DATE = re.compile(
    rf"{_START}(?:"
    rf"(?P<iso>{_YEAR}-\d\d-\d\d)"
    rf"|(?P<dmy>\d{{1,2}}\s{MONTH},?\s{_YEAR})"
    rf"|(?P<mdy>{MONTH}\s\d{{1,2}},?\s{_YEAR})"
    rf"|(?P<my>{MONTH}\s{_YEAR})"
    rf"|(?P<part>(?:early|late|mid|the end of|the start of|the beginning of|the first half of|"
    rf"the second half of)[- ]{_YEAR})"
    rf"|(?P<quarter>(?:Q[1-4]\s{_YEAR}|the (?:first|second|third|fourth) quarter of {_YEAR}))"
    rf"|(?P<season>(?:spring|summer|autumn|fall|winter)\s(?:of\s)?{_YEAR})"
    r"|(?P<decade>(?:the\s)?(?:1[89]|20)\d0s)"
    rf"|(?P<year>{_YEAR})"
    rf"){_END}",
    re.I,
)
_PART_MONTH = {
    "early": 2,
    "the start of": 1,
    "the beginning of": 1,
    "mid": 6,
    "the first half of": 3,
    "the second half of": 9,
    "late": 10,
    "the end of": 12,
}
_QUARTER_MONTH = {"q1": 2, "first": 2, "q2": 5, "second": 5, "q3": 8, "third": 8, "q4": 11}
_QUARTER_MONTH["fourth"] = 11
_SEASON_MONTH = {"winter": 1, "spring": 4, "summer": 7, "autumn": 10, "fall": 10}
_CLAUSE_BREAK = re.compile(r"[,;:](?!\d)|[()—–]|\s-\s|\.(?=\s)")
_STOP = frozenset(
    """a an the of to in on at by for from with and or but that which who as than its their
    his her our this these those be is are was were has have had will would could may might
    up down about over under more less most least just only some all""".split()
)
_UNITS = frozenset(
    """tonnes tons tonne ton kg kilograms kilometres kilometers km miles metres meters hours
    hours days weeks months years minutes seconds times people per cent percent points
    units gigawatts megawatts gw mw kwh mwh gwh litres liters barrels""".split()
)
_VERBISH = re.compile(r"(?:ing|ed)$")


@dataclass
class Found:
    """A figure in a sentence: its text, kind, what it measures and its clause."""

    value: str
    kind: str
    measures: str
    context: str
    sentence: DocumentSentence
    start: int  # offset of the figure in the sentence's text
    sort_key: str = ""


#: Longer "sentences" are not prose (tables, lists run together): they yield no figures.
MAX_SENTENCE_CHARS = 1500
#: More figures than this in one sentence is a table, not a key figure.
MAX_PER_SENTENCE = 5
#: A percentage that is a statistic's level, not a finding: "95% CI", "95 % confidence".
_LEVEL = re.compile(
    r"^\s*(?:CI\b|C\.I\.|confidence|uncertainty|credible|prediction interval)", re.I
)
#: A figure right after these is an error margin or a range's end: "27.0% +/- 5%".
_MARGIN = re.compile(r"(?:\+/-|±|\+-)\s*$")


def figures(sentence: DocumentSentence) -> list[Found]:
    """The amounts, percentages, counts and dates of one sentence, left to right."""
    text = sentence.text
    if len(text) > MAX_SENTENCE_CHARS:
        return []
    taken: list[tuple[int, int]] = []
    found: list[Found] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    for kind, pattern in (
        ("amount", _MONEY),
        ("percent", _PERCENT),
        ("date", _DATE),
        ("count", _DURATION),
        ("count", _COUNT),
    ):
        for m in pattern.finditer(text):
            a, b = m.start(), m.end()
            if not free(a, b) or _in_name(text, a, b):
                continue
            if _LEVEL.match(text[b:]) or _MARGIN.search(text[:a]):
                continue
            if kind == "date" and (_in_parentheses(text, a) or text[:a].rstrip().endswith("©")):
                continue  # a reference's year "(Cell 67:837, 1990)" or a copyright line
            value = m.group(0).strip()
            key = ""
            if kind == "date":
                key = sort_key(m)
                if not key:
                    continue
            if kind == "count" and pattern is _COUNT and re.fullmatch(_YEAR, value):
                continue
            taken.append((a, b))
            context = text if len(text.split()) <= 40 else clause(text, a, b, max_words=30)
            found.append(Found(value, kind, measures(text, a, b, kind), context, sentence, a, key))
    found.sort(key=lambda f: f.start)
    return found if len(found) <= MAX_PER_SENTENCE else []


def _in_parentheses(text: str, a: int) -> bool:
    return text.rfind("(", 0, a) > text.rfind(")", 0, a)


def _in_name(text: str, a: int, b: int) -> bool:
    """A number that is part of a code or a name: "H800", "R1", "COVID-19", "V3’s"."""
    before = text[a - 1] if a > 0 else " "
    after = text[b] if b < len(text) else " "
    return before.isalpha() or (after.isalpha() and not text[a:b].endswith(("%",)))


def sort_key(m: re.Match[str]) -> str:
    """A sortable date ("2023-10") for a date match, or "" if it cannot be placed."""
    g = m.groupdict()
    years = re.findall(_YEAR, m.group(0))
    if not years:
        return ""
    year = years[-1]
    if g["iso"]:
        return g["iso"]
    if g["dmy"] or g["mdy"] or g["my"]:
        month = _month(m.group(0))
        day = re.search(r"\b(\d{1,2})\b(?!\d)", m.group(0).replace(year, ""))
        if month and day and not g["my"]:
            return f"{year}-{month:02d}-{int(day.group(1)):02d}"
        return f"{year}-{month:02d}" if month else year
    if g["part"]:
        words = m.group(0).lower().rsplit(year, 1)[0].strip(" -")
        return f"{year}-{_PART_MONTH.get(words, 6):02d}"
    if g["quarter"]:
        q = re.search(r"q[1-4]|first|second|third|fourth", m.group(0).lower())
        return f"{year}-{_QUARTER_MONTH.get(q.group(0) if q else '', 6):02d}"
    if g["season"]:
        season = m.group(0).split()[0].lower()
        return f"{year}-{_SEASON_MONTH.get(season, 6):02d}"
    if g["decade"]:
        return year
    return year


def _month(text: str) -> int | None:
    for word in re.findall(r"[A-Za-z]+", text):
        if word.lower() in MONTHS:
            return MONTHS[word.lower()]
    return None


def clause(text: str, a: int, b: int, max_words: int = 24) -> str:
    """The clause of ``text`` holding ``text[a:b]``, widened to at least five words."""
    breaks = [0] + [m.end() for m in _CLAUSE_BREAK.finditer(text)] + [len(text)]
    start = max(x for x in breaks if x <= a)
    end = min(x for x in breaks if x >= b)
    if end < len(text) and text[end - 1] in ",;:)—–.":
        end -= 1
    while len(text[start:end].split()) < 5:
        wider = [x for x in breaks if x < start]
        if not wider:
            break
        start = max(wider)
    words = text[start:end].strip(" ,;:—–-").split()
    if len(words) > max_words:
        # Keep the words around the figure.
        head = len(text[start:a].split())
        lo = max(0, head - max_words // 2)
        words = words[lo : lo + max_words]
    return " ".join(words).strip(" ,;:")


def measures(text: str, a: int, b: int, kind: str) -> str:
    """What the figure at ``text[a:b]`` is of: the noun phrase after it, else the clause before."""
    if kind == "date":
        return ""
    of = re.match(
        r"\s+of\s+((?:(?:the|its|their|all)\s+)?[\w'’\-]+(?:\s+[\w'’\-]+){0,2})", text[b:]
    )
    if kind == "percent" and of:
        words: list[str] = []
        for word in of.group(1).split():
            if words and word.lower() in _STOP:
                break
            words.append(word)
        return " ".join(words)
    after = re.findall(r"[\w'’\-]+|[^\w\s]", text[b : b + 60])
    phrase: list[str] = []
    for word in after:
        if not re.match(r"[\w'’\-]+$", word) or word.lower() in _STOP:
            break
        if phrase and _VERBISH.search(word.lower()) and not word[0].isupper():
            break
        phrase.append(word)
        if len(phrase) == 3:
            break
    if phrase and phrase[0].lower() not in _UNITS and kind != "percent":
        return " ".join(phrase)
    before = clause(text, a, b)
    cut = before.find(text[a:b])
    lead = before[:cut].split() if cut > 0 else []
    while lead and lead[0].lower() in _STOP:
        lead = lead[1:]
    return " ".join(lead[-8:])
