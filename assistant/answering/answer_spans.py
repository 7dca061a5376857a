"""Candidate short answers in a sentence, by the kind of thing asked for.

``candidates(kind, noun, sentence, question)`` finds the spans of one sentence that could
answer a question of that kind: capitalised runs (names of people, organisations and places,
with "of", "for", "the" and possessives inside them), amounts of money, shares, numbers with
their unit or counted noun, dates and durations, and short quoted phrases. Each span carries a
bonus for how well it fits the question's type; ``assistant/answering/short_answer.py`` weighs them
against where the question's words are and picks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text.dates import MONTH, WEEKDAYS

# --- patterns -----------------------------------------------------------

#: A capitalised word, a rating ("AA-"), an acronym ("U.S."), an initial or a code ("M40", "3D").
_CAP_WORD = (
    r"(?:[A-Z]{1,3}[+-](?![\w+-])|(?:[A-Z]\.){2,}|[A-Z][\w’'\-]*[\w]|[A-Z]\.?"
    r"|[A-Z]?\d+[A-Za-z][\w\-]*|[A-Z]+\d[\w\-]*)"
)
_JOINER = r"(?:of|for|the|de|du|la|van|von|der|al|bin|da|di|del)"
# A run of capitalised words; lower-case joiners and possessives only between two of them.
_CAP_RUN = re.compile(
    rf"(?<![\w’']){_CAP_WORD}(?:(?:[’']s)?\s+(?:{_JOINER}\s+(?:the\s+)?)?{_CAP_WORD})*"
    rf"(?:\s*\([A-Z][A-Za-z]{{1,9}}\))?"
)
_SCALE = r"(?:thousand|million|billion|trillion|bn|m|k)"
_NUM = (
    r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|a hundred|hundreds|thousands|millions|a dozen|"
    r"dozens|half|a third|a quarter|two-thirds"
)
_CURRENCY_WORD = (
    r"(?:dollars?|euros?|pounds?|yen|yuan|rupees?|francs?|kronor|krona|crowns?|USD|EUR|GBP)"
)
_MONEY = re.compile(
    rf"(?:(?:US|A|C|NZ|HK)?[$€£¥₹]\s?(?:{_NUM})(?:\s?{_SCALE}\b)?"
    rf"|\b(?:{_NUM})(?:\s{_SCALE})?\s{_CURRENCY_WORD}\b)",
    re.I,
)
#: Words that qualify an amount; they belong to the answer ("more than 40 ships").
_HEDGE = (
    r"(?:(?:more|fewer|less) than |about |around |nearly |almost |over |some |up to |roughly |"
    r"at least |closer to |close to |just |only )"
)
_PERCENT = re.compile(
    rf"(?<![\w.])(?:{_HEDGE})?(?:{_NUM})\s?(?:%|per ?cent\b|percent\b|percentage points?\b)",
    re.I,
)
_COUNT = re.compile(
    rf"(?<![\w$€£¥₹.])(?:{_HEDGE})?(?:{_NUM})(?:\s{_SCALE})?(?![\w%])",
    re.I,
)
_DATE = re.compile(
    rf"\b(?:(?:early|mid|late|the end of|the start of)[\s-])?(?:\d{{1,2}}\s)?{MONTH}"
    rf"(?:\s\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s(?:1[6-9]|20)\d\d)?\b"
    rf"|\b(?:(?:early|mid|late|the end of|the start of)[\s-])?(?:1[6-9]|20)\d\d(?:s\b)?"
    rf"(?:[-–](?:1[6-9]|20)?\d\d)?\b"
    rf"|\b(?:last |next )?(?:{WEEKDAYS})\b"
    r"|\b(?:yesterday|today|tomorrow|(?:last|next|this) (?:week|month|year|spring|summer|"
    r"autumn|winter))\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    re.I,
)
_DURATION = re.compile(
    rf"\b(?:(?:more|less|fewer) than |about |nearly |almost |over |some |up to )?"
    rf"(?:{_NUM}|several|a few|many)[\s-](?:seconds?|minutes?|hours?|days?|weeks?|months?|"
    rf"years?|decades?|centuries|century)\b",
    re.I,
)
_DATE_WORD = re.compile(rf"{MONTH}|{WEEKDAYS}", re.I)
_QUOTED = re.compile(r"[“\"]([^“”\"]{2,80})[”\"]")
#: Words that end an organisation's name, never a person's.
_ORG_WORDS = frozenset(
    """
    institute university college school academy foundation centre center council agency
    commission committee ministry department office authority union federation association
    society bank group company corporation corp inc ltd plc llc gmbh ag partners capital
    research labs laboratory laboratories fund trust party parliament court board
    organisation organization network alliance service services systems technologies
    dynamics materials industries holdings airlines motors press news times post journal
    """.split()
)
#: Words that start a sentence without naming anything: English function words only
#: (articles, pronouns, conjunctions, prepositions, sentence adverbs), so that "However Pune"
#: is no name. A capitalised content word that opens a sentence ("Tight", "Based") is left to
#: the one-word penalty in ``_names``: a list of such words would be a list of some documents'
#: first words.
_COMMON_STARTS = frozenset(
    """
    the a an this that these those it its he she they we i you his her their our in on at for
    but and however yet so meanwhile still then there here when while after before although
    some many most such other others nevertheless also if as
    according despite since during under over with
    """.split()
)
#: A title or role just before a name: the name is a person's. General English titles.
_PERSON_TITLES = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Prof|President|Senator|Minister|Chancellor|Governor|Mayor|"
    r"Commissioner|MEP|CEO|founder|chief executive|director|analyst|fellow|secretary|"
    r"professor|economist|spokesperson|spokesman|spokeswoman|chair|chairman|"
    r"chairwoman|head|leader|minister|officer|researcher)\b[\s,]*(?:\w+\s+){0,2}$",
)
#: Reporting verbs beside a name: the name is the speaker's. General English.
_SPEECH = re.compile(
    r"^[\s,]*(?:said|says|added|argued|noted|warned|told|claimed|stated|acknowledged|"
    r"questioned|concluded|suggested|called|wrote|explained|insisted|pointed out)\b"
    r"|(?:said|says|added|argued|noted|warned|told|according to)\s*$",
)
WORD = re.compile(r"[\w’'-]+")


@dataclass
class Span:
    """A candidate short answer: offsets in the sentence and what kind of thing it is."""

    start: int
    end: int
    kind: str  # "name", "money", "percent", "count", "date", "duration", "quote"
    bonus: float = 0.0
    #: A name that carries the noun of "which X" ("KX1 rocket" for "which rocket").
    fits: bool = False


_CHANGE_Q = re.compile(
    r"\b(raise|raises|rise|rises|increase|increases|cut|cuts|fall|falls|fell|grow|grew|drop|"
    r"dropped|reduce|reduced|by how much)\b",
    re.I,
)
_RAISE_END = re.compile(r"\b(raise|raised|bring in|brought in)\s*\?*\s*$", re.I)
#: "... led by Airbus": the agent of a passive verb.
AGENT = re.compile(r"\b(\w+)\s+by\s+(?:the\s+)?$")
#: Titles that stand before a person's name ("Commissioner Anna Lindt"), general English.
_ROLE_TITLES = frozenset(
    "commissioner president senator minister chancellor governor mayor mep "
    "ceo chairman chairwoman chair director secretary general judge".split()
)
# --- typing candidates -------------------------------------------------------------------------


def candidates(kind: str, noun: str | None, sentence: str, question: str) -> list[Span]:
    """Candidate spans of ``sentence`` for a question (its text ``question``) that asks for a
    ``kind`` of thing: person, place, date, duration, money, percent, measure, count (``noun``:
    what is counted), statement, instance (``noun``: "which X"'s X) or thing. Each span has a
    bonus for how well it fits; the offsets are the sentence's, trimmed of space and
    punctuation."""
    if kind == "money":
        # "How much did the deal raise pay?" is answered by a share as often as by a sum.
        # ("How much would the bonds raise?" asks for a sum: the verb ends the question.)
        change = 0.5 if _CHANGE_Q.search(question) and not _RAISE_END.search(question) else 0.3
        spans = _spans(_MONEY, sentence, "money", 0.5) + _spans(
            _PERCENT, sentence, "percent", change
        )
        spans += _spans(_COUNT, sentence, "count", 0.2, big_only=True)
        return _outer(spans) or _outer(_with_unit(sentence))
    if kind == "percent":
        return _spans(_PERCENT, sentence, "percent", 0.5)
    if kind == "measure":
        spans = _spans(_MONEY, sentence, "money", 0.5) + _spans(_PERCENT, sentence, "percent", 0.5)
        spans += _with_unit(sentence)
        return _outer(spans)
    if kind == "count":
        return _counts(sentence, noun or "")
    if kind == "date":
        spans = _spans(_DATE, sentence, "date", 0.5)
        if re.search(r"\byear\b", question, re.I):
            spans = [s for s in spans if re.search(r"\d{4}", sentence[s.start : s.end])]
        return spans
    if kind == "duration":
        return _spans(_DURATION, sentence, "duration", 0.5)
    if kind == "statement":
        # Only a short quoted phrase is a short answer; a whole quoted sentence is not.
        return [s for s in _quotes(sentence) if len(sentence[s.start : s.end].split()) <= 6]
    names = _names(sentence)
    if kind == "person":
        people = [
            s
            for s in (_untitled(sentence, x) for x in names)
            if _personish(sentence, s) or AGENT.search(sentence[max(0, s.start - 30) : s.start])
        ]
        # "Who made the Vega rocket?": who may also be a company; other names, with less trust.
        others = [s for s in names if s not in people]
        for span in others:
            span.bonus -= 0.8
        return people + others
    if kind == "place":
        return _places(sentence, names)
    if kind == "instance":
        return _instances(sentence, names, noun or "")
    # "thing": a short quoted phrase or a name.
    quotes = [s for s in _quotes(sentence) if len(sentence[s.start : s.end].split()) <= 6]
    for s in quotes:
        s.bonus += 0.3
    return quotes + names


def _spans(
    pattern: re.Pattern[str], sentence: str, kind: str, bonus: float, big_only: bool = False
) -> list[Span]:
    out = []
    for m in pattern.finditer(sentence):
        start, end = trim(sentence, m.start(), m.end())
        if end <= start:
            continue
        if big_only and not re.search(_SCALE, m.group(0), re.I):
            continue
        out.append(Span(start, end, kind, bonus))
    return out


def _with_unit(sentence: str) -> list[Span]:
    """A number with the word after it ("40 tonnes", "12 metres")."""
    out = []
    for m in _COUNT.finditer(sentence):
        tail = re.match(r"\s([a-z][a-z-]+)", sentence[m.end() :])
        unit = tail is not None and tail.group(1) not in STOP_AFTER
        end = m.end() + tail.end() if tail and unit else m.end()
        start, end = trim(sentence, m.start(), end)
        scaled = re.search(rf"\b{_SCALE}$", sentence[start:end], re.I)
        out.append(Span(start, end, "count", 0.3 if unit or scaled else 0.1))
    return out


STOP_AFTER = frozenset(
    "and or to of in on at by for the a an that which who is was per each every from since "
    "until after before over than as with into between during while".split()
)


def _counts(sentence: str, noun: str) -> list[Span]:
    """A number with its noun ("more than 40 container ships"); the asked noun ranks first."""
    root = stem(noun)
    dates = [(d.start(), d.end()) for d in _DATE.finditer(sentence)]
    out = []
    for m in _COUNT.finditer(sentence):
        if _inside_date(dates, sentence, m.start(), m.end()):
            continue
        rest = sentence[m.end() :]
        tail = re.match(r"((?:\s[a-z][\w-]*){1,4})", rest)
        end, bonus = m.end(), 0.1
        if tail:
            words = tail.group(1).split()
            for i, word in enumerate(words):
                if stem(word) == root or word.lower().startswith(root[:4]):
                    end = m.end() + len(" ".join(["", *words[: i + 1]]))
                    bonus = 0.6
                    break
            else:
                if words[0].lower() not in STOP_AFTER:
                    end = m.end() + len(words[0]) + 1
        start, end = trim(sentence, m.start(), end)
        out.append(Span(start, end, "count", bonus))
    return out


def _inside_date(dates: list[tuple[int, int]], sentence: str, start: int, end: int) -> bool:
    """Whether the number is a year inside a date ("in 2029" counts nothing)."""
    return bool(re.fullmatch(r"(1[6-9]|20)\d\d", sentence[start:end].strip())) and any(
        a <= start and end <= b for a, b in dates
    )


def _quotes(sentence: str) -> list[Span]:
    out = []
    for m in _QUOTED.finditer(sentence):
        start, end = trim(sentence, m.start(1), m.end(1))
        if end > start:
            out.append(Span(start, end, "quote", 0.2))
    return out


def _names(sentence: str) -> list[Span]:
    """Capitalised runs, not counting a sentence's first word when it is a common one."""
    out = []
    for m in _CAP_RUN.finditer(sentence):
        start, end = m.start(), m.end()
        text = sentence[start:end]
        first = WORD.match(text)
        at_start = not sentence[:start].strip(" “\"'‘(—–-")
        if first and at_start and first.group(0).lower() in _COMMON_STARTS:
            rest = _CAP_RUN.search(sentence, start + len(first.group(0)), end)
            if not rest:
                continue
            start = rest.start()
        # A trailing possessive belongs to the sentence, not to the name.
        start, end = trim(sentence, start, end)
        end = start + len(re.sub(r"[’']s$", "", sentence[start:end]))
        if end <= start or _DATE_WORD.fullmatch(sentence[start:end]):
            continue  # "March" is a date, not a name
        words = sentence[start:end].split()
        bonus = 0.1 * min(len(words), 3)
        if at_start and start == m.start() and len(words) == 1:
            bonus -= 0.3  # one capitalised word opening a sentence is often no name
        out.append(Span(start, end, "name", bonus))
    return out


def _untitled(sentence: str, span: Span) -> Span:
    """A person's name without the role before it ("Space Commissioner Carl Brandt": "Carl
    Brandt"); the span is unchanged when no role word leads it."""
    words = list(re.finditer(r"[\w’'-]+", sentence[span.start : span.end]))
    last_role = max(
        (i for i, w in enumerate(words[:-1]) if w.group(0).lower() in _ROLE_TITLES), default=None
    )
    if last_role is not None:
        span.start += words[last_role + 1].start()
    return span


_ROLE_AFTER = re.compile(
    r"^\s*,\s*(?:now |currently |formerly |then )?(?:the |a |an |its |their )?(?:[\w-]+\s+){0,3}?"
    r"(?:founder|director|chief|head|president|chair\w*|secretary|analyst|fellow|professor|"
    r"economist|spokes\w+|minister|officer|executive|leader|manager|researcher|editor)\b",
    re.I,
)


def _personish(sentence: str, span: Span) -> bool:
    text = sentence[span.start : span.end]
    words = text.split()
    lowered = {w.lower().strip(".,’'") for w in words}
    if lowered & _ORG_WORDS or re.search(r"\d|\b(of|for|the)\b", text):
        return False
    if _ROLE_AFTER.search(sentence[span.end : span.end + 60]):
        span.bonus += 0.5
        return True
    before = sentence[max(0, span.start - 40) : span.start]
    after = sentence[span.end : span.end + 30]
    if _PERSON_TITLES.search(before) or _SPEECH.search(after) or _SPEECH.search(before):
        span.bonus += 0.4
        return True
    if re.match(r"^\s*,\s*(?:a|an|the)?\s*\w+", after) and len(words) >= 2:
        span.bonus += 0.2
    if re.match(r"^\s+(?:from|of|at)\s+(?:the\s+)?[A-Z]", after) and len(words) >= 2:
        span.bonus += 0.4  # "Sofia Marin from the Institute...": a person and an affiliation
    # Two words or more, the last no single letter or code ("Option B" is no one).
    return len(words) >= 2 and len(words[-1]) > 2


def _places(sentence: str, names: list[Span]) -> list[Span]:
    out = []
    for span in names:
        before = sentence[max(0, span.start - 30) : span.start]
        if re.search(
            r"\b(in|at|from|near|to|based in|headquartered in|across|outside|inside)\s+(the\s+)?$",
            before,
            re.I,
        ):
            span.bonus += 0.4
            out.append(span)
        elif re.match(r"^\W*based\b", sentence[span.end : span.end + 12], re.I):
            span.bonus += 0.3
            out.append(span)
        elif not _personish(sentence, Span(span.start, span.end, span.kind)):
            span.bonus -= 0.4  # a place need not follow "in": "Vienna was rocked by..."
            out.append(span)
    return out


#: A capitalised word of origin alone ("Indian", "Chinese", "Swedish", "Israeli").
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:an|ese|ish|i)$")


def _instances(sentence: str, names: list[Span], noun: str) -> list[Span]:
    """Names of the thing asked for: carrying its noun, or followed by it ("M40 engines")."""
    head = noun.split()[-1] if noun else ""
    root = stem(head)
    out = []
    for span in names:
        words = [w.lower().strip("’'") for w in sentence[span.start : span.end].split()]
        if root and any(stem(w) == root for w in words):
            span.bonus += 1.0
            span.fits = True
        else:
            tail = re.match(r"(?:\s+[a-z][\w-]*){1,3}", sentence[span.end :])
            following = []
            for word in tail.group(0).split() if tail else []:
                if word in STOP_AFTER or word.endswith("ed"):
                    break  # "Residents quoted the code" is no name of a code
                following.append(word)
            hit = next((i for i, w in enumerate(following) if root and stem(w) == root), None)
            if hit is not None and _DEMONYM.match(sentence[span.start : span.end]):
                pass  # "an Indian company" describes one; it names none
            elif hit is not None:
                span.end += len(" ".join(["", *following[: hit + 1]]))
                span.bonus += 1.0
                span.fits = True
            elif head in _ORGISH and words[-1] in _ORG_WORDS:
                span.bonus += 0.3
        out.append(span)
    if head in _ROLE_TITLES or head in _PERSON_NOUNS:  # "Which commissioner...": the person
        out = [_untitled(sentence, s) for s in out]
    # The noun's class decides among names that do not carry it: "which country" is no person.
    for span in out:
        if span.fits:
            continue
        person = _personish(sentence, Span(span.start, span.end, span.kind))
        text = sentence[span.start : span.end]
        if head in _PERSON_NOUNS:
            span.bonus += 0.5 if person else -0.8
        elif head in _PLACE_NOUNS or head in _ORGISH or head in _THING_NOUNS:
            span.bonus -= 1.0 if person else 0.0
            if head in _PLACE_NOUNS:
                if _AFTER_PLACE_WORD.search(sentence[: span.start]):
                    span.bonus += 0.3
                if re.fullmatch(r"[A-Z][a-z]+(?:ian|ese|ish)|[A-Z]{2,}", text):
                    span.bonus -= 0.6  # "Russian", "LGBTQ": no country's name
    if head in _THING_NOUNS:
        # a thing made or used is never a person: "Which chips ...?" is not "Liang Wenfeng"
        out = [s for s in out if s.fits or not _personish(sentence, Span(s.start, s.end, s.kind))]
    return out


#: Nouns of "which X" that a person's name answers.
_PERSON_NOUNS = frozenset(
    """
    person man woman leader musician singer rapper actor actress player star president politician
    driver justice judge member icon candidate artist author writer director athlete celebrity
    golfer footballer quarterback coach senator governor minister billionaire founder ceo
    executive official comedian host presenter entrepreneur astronaut scientist king queen
    prince princess pope
    """.split()
)
#: Nouns of "which X" that a place answers.
_PLACE_NOUNS = frozenset(
    "country state city town island region continent capital nation province county village "
    "territory place airport port river lake mountain district neighbourhood neighborhood".split()
)
#: Nouns of "which X" answered by a named thing that is no person.
_THING_NOUNS = frozenset(
    "team league brand automaker carmaker product game film movie show book song album "
    "app platform network channel newspaper magazine event race tournament "
    # things made and used, which no person's name answers ("Which chips did it use?")
    "chip chips engine engines rocket rockets satellite satellites vaccine vaccines drug drugs "
    "weapon weapons missile missiles device devices phone phones model models software system "
    "systems technology technologies car cars vehicle vehicles aircraft plane planes ship ships "
    "tool tools material materials chemical chemicals processor processors".split()
)
_AFTER_PLACE_WORD = re.compile(r"\b(in|at|from|to|near|across)\s+(the\s+)?$", re.I)
#: Nouns of "which X" that an organisation's name answers ("which think tank": "Institute").
_ORGISH = frozenset(
    "tank organisation organization company firm group body institution school agency "
    "bank university college lab laboratory startup start-up maker business".split()
)
KNOWN_NOUNS = _PERSON_NOUNS | _PLACE_NOUNS | _THING_NOUNS | _ORGISH


def singular(word: str) -> str:
    """The singular of a plural ("countries": "country"), enough for the noun classes."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


# --- helpers -----------------------------------------------------------------------------------


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without surrounding space or punctuation (a currency sign or % stays)."""
    strip = " \t\n,.;:!?“”\"'‘’()—–-"
    while start < end and text[start] in strip:
        start += 1
    while end > start and text[end - 1] in strip:
        last, kept = text[end - 1], text[start:end]
        if last == "." and re.search(r"\b[A-Z]\.$|\b(Inc|Ltd|Co|Corp)\.$", kept):
            break  # an initial or an abbreviation keeps its point
        if last == ")" and kept.count("(") >= kept.count(")"):
            break  # "(ISE)"
        if last == "-" and re.search(r"\b[A-Z]{1,3}[+-]$", kept):
            break  # a rating: "AA-"
        end -= 1
    return start, end


def _outer(spans: list[Span]) -> list[Span]:
    """Spans not inside a longer one (a money amount hides the bare number in it), and bare
    counts not overlapping an amount or a share ("up to 20" against "20 per cent")."""
    typed = [s for s in spans if s.kind in ("money", "percent")]
    return [
        s
        for s in spans
        if not any(o is not s and o.start <= s.start and s.end <= o.end for o in spans)
        and not (s.kind == "count" and any(o.start < s.end and s.start < o.end for o in typed))
    ]


def stem(word: str) -> str:
    """A crude stem: lower case without a possessive or plural ending (enough to match words
    of the question in the sentence; the extractor must not load the BM25 stemmer)."""
    w = word.lower().strip("’'-")
    w = re.sub(r"[’']s$", "", w)
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
            if suffix in ("ing", "ed") and len(w) > 3 and w[-1] == w[-2]:
                w = w[:-1]  # "capped": "cap"
            return w
    return w
