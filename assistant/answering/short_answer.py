"""The short answer: the few words of a cited sentence that answer the question.

"Who founded Kestrel?" is answered by a sentence; its short answer is "Priya Raman", a verbatim
span of that sentence, so every face can show it first and highlight it in the source.

This first extractor is rule-based. Candidate spans of the sentence (``answer_spans.py``) are
capitalised runs (names of people, organisations and places, with "of", "for", "the" and
possessives inside them), amounts of money, numbers with their unit or noun, dates and
durations, and short quoted phrases. This module reads what the question asks for (from the
sentence of it that asks, so a news quiz's story before the question does not count) and keeps
only candidates of that type (who: a person, where: a place, when: a date, how much: an
amount, how many: a number with its noun, which X: a name near X or carrying X); spans made
only of the question's own words are dropped, and the one nearest to where the question's terms
appear in the sentence wins. Questions that ask for no single thing (why, how, yes/no, "what is
X?") get none.

The contract of ``short_answer`` (its signature and what it returns) is what the responder and
any later learned extractor share; replace the internals freely, keep the contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.answering import people
from assistant.answering.answer import Answer
from assistant.answering.answer_spans import (
    AGENT,
    KNOWN_NOUNS,
    STOP_AFTER,
    WORD,
    Span,
    candidates,
    singular,
    stem,
    trim,
)
from assistant.answering.question import Question
from assistant.answering.span_reader import SpanReader

# --- what the question asks for ----------------------------------------------------------------

#: Questions whose answer is an explanation or a yes/no, not a thing.
_NO_THING = re.compile(
    r"^\W*(why|how(?!\s+(much|many|long|old|far|big|large|high|often|expensive|tall))\b"
    r"|(is|are|was|were|do|does|did|can|could|will|would|should|has|have|had)\b)"
    r"|\b(explain|describe|summari[sz]e)\b",
    re.I,
)
#: "What is Kestrel?", "Who is Priya Raman?": a description is wanted, not a name.
_DEFINITION = re.compile(r"^\W*(what|who)\s+(is|are|was|were)\s+[^?]{1,60}\??\s*$", re.I)
_DEFINITION_HAS_VERB = re.compile(
    r"\b\w+(ed|ing)\b|\b(from|with|at|in|to|by|for|behind|of)\s*\??\s*$", re.I
)
#: "which think tank is", "what engines did": the noun phrase the question asks an instance of.
_WHICH = re.compile(
    r"\b(?:which|what)\s+((?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*)\s+"
    r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|may|might|"
    r"[a-z]+ed|[a-z]+s|said|told|made|led|won|ran|took|gave|built|bought|sold|paid|got|became|"
    r"began|held|found|left|lost|met|set|put|came|went|saw|knew|brought|spent|chose|run|runs)\b",
    re.I,
)
_WHICH_END = re.compile(r"\b(?:which|what)\s+((?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)\s*\??\s*$", re.I)
_THIS_NOUN = re.compile(r"^\W*(?:this|these)\s+", re.I)
_AUX = frozenset(
    "is are was were do does did has have had can could will would should may might must be "
    "kind type sort".split()
)
#: A trailing preposition ("Which think tank is Feld from?"): the answer often follows it.
_TRAILING_PREP = re.compile(r"\b(from|with|at|in|for|to|by|of|on)\s*\??\s*$", re.I)
#: "how many licensed battery plants does": up to four words after "how many".
_HOW_MANY_WORDS = re.compile(r"\bhow\s+many\s+((?:[a-z][\w-]*\s*){1,4})", re.I)
_BY_WHEN = re.compile(r"\b(by|until|till|since|from) when\b|\bwhat (year|date|day|month)\b", re.I)
#: "What is the cap on grants?": an amount is asked for, in "what is" form.
_MEASURE_NOUN = re.compile(
    r"^\W*what\s+(is|was|are|were|will be)\s+the\s+(cap|price|cost|total|capacity|budget|limit|"
    r"value|size|salary|fee|fine|figure|target|ceiling|population|turnover|revenue|deficit|"
    r"rate|share|valuation)\b",
    re.I,
)
_AMOUNT_NOUNS = frozenset(
    "budget cost costs price prices amount sum fee fees salary total figure budgets fine".split()
)
_MONEY_Q = re.compile(
    r"\bhow\s+(much|expensive|costly)\b|\b(cost|costs|price|worth|spend|spent|pay|paid|"
    r"budget|fund|funding|invest|investment|raise|raised|valued|value|sum|amount)\b",
    re.I,
)
_PERCENT_Q = re.compile(r"\b(percentage|per ?cent|share|proportion|rate)\b", re.I)

#: Longer cited sentences get no short answer: the candidates of a run-on of thousands of
#: characters would cost time (pairwise checks) and none of them would be short.
MAX_SENTENCE_CHARS = 2000


def short_answer(question: Question, sentence_text: str) -> tuple[int, int] | None:
    """The short answer to ``question`` in ``sentence_text``, as ``(start, end)`` offsets.

    ``sentence_text[start:end]`` is a verbatim span (no leading or trailing space or
    punctuation) naming the thing the question asks for: a person, organisation, place,
    amount, number with its noun, date or duration, or a short quoted phrase. Returns None
    when the question asks for no single thing (why, how, yes/no, "what is X?") or the
    sentence holds nothing of the kind asked for. Pure and fast (regular expressions only).
    """
    scored = score_spans(question, sentence_text)
    if not scored:
        return None
    best = max(scored, key=lambda pair: pair[1])[0]
    return best.start, best.end


def best_of(question: Question, sentences: Iterable[str]) -> tuple[int, int, int] | None:
    """The best short answer over several cited sentences: ``(index, start, end)``, or None.

    An earlier sentence wins ties (the answer leads with the best sentence).
    """
    best: tuple[float, int, Span] | None = None
    for i, text in enumerate(sentences):
        for span, value in score_spans(question, text):
            value -= 0.05 * i
            if best is None or value > best[0]:
                best = (value, i, span)
    if best is None:
        return None
    return best[1], best[2].start, best[2].end


def fill(answer: Answer, question: Question, reader: SpanReader | None = None) -> None:
    """Set ``answer.short`` (and where it lies) from the cited quotes; nothing if it abstained
    or no quote holds a short answer.

    With a ``reader`` (the learned span reader), a question that asks for a name or a thing is
    answered by the words the reader marks in the lead quote; amounts, counts, dates and
    durations, and anything the reader finds nothing new in, by the rules over the quotes in
    citation order (``best_of``)."""
    if answer.abstained or not answer.citations:
        return
    quotes = [c.quote for c in answer.citations]
    found = read(question, quotes, reader) if reader is not None else None
    if found is None:
        found = best_of(question, quotes)
    if found is not None:
        i, start, end = found
        answer.set_short(answer.citations[i], start, end)


#: Kinds the rules read better than the learned reader: their spans have a fixed shape
#: ("1 August 1944", "£15-100,000", "80 avulsions") that the reader tends to cut short.
_SHAPED = frozenset({"date", "duration", "money", "percent", "count", "measure", "number"})
#: Where the rules find a candidate of the asked type in the lead, the reader's span is taken
#: over theirs only when its margin over "no answer" is at least this (its logits). Read on
#: SQuAD's fitting half and on held-out 2024 news quiz questions: 4-6 did best on both, and
#: at 6 the reader no longer overrides "Corbett Institute" for "Who does Marcus Feld work for?".
#: Where the rules find none, the reader's span is given when its margin is positive (its span
#: likelier than "no answer"): on the same sets that cut the wrong short answers given from
#: 0.60 to 0.45 (SQuAD) and 0.39 to 0.36 (news) of questions, for 0.01 fewer right ones.
CONFIDENT = 6.0


def read(question: Question, quotes: list[str], reader: SpanReader) -> tuple[int, int, int] | None:
    """The learned reader's short answer in the lead quote, ``(0, start, end)``, or None where
    the question asks for no name or thing, or the reader's span adds nothing to the question.

    Where the rules find a candidate of the asked type in the lead, they answer unless the
    reader is confident (``CONFIDENT``). Where one of their candidates holds the reader's span
    (and is not much longer), the candidate is taken: it has the whole name ("Fort Caroline"
    for "Caroline")."""
    want = wanted(question)
    if want is None or want[0] in _SHAPED or not quotes:
        return None
    if people.asks_about_person(question.text) == "affiliation":
        # "Who does Marcus Feld work for?": the attribution's affiliation, which the rules
        # find; the reader, trained on quiz questions, takes the quote's subject instead
        return None
    lead = quotes[0]
    if not lead.strip() or len(lead) > MAX_SENTENCE_CHARS:
        return None
    span = reader.read(question.text, [lead])[0]
    if span is None:
        return None
    typed = score_spans(question, lead)
    if typed and (span.margin < CONFIDENT or typed[0][0].fits):
        # the rules' typed candidates, unless the reader is sure; and always a name that
        # carries the asked noun ("Uppsala University" for "Which university ...?")
        return None
    if not typed and span.margin <= 0:
        return None  # the reader finds "no answer" likelier than its best span
    start, end = trim(lead, span.start, span.end)
    words = [w.lower() for w in WORD.findall(lead[start:end])]
    asked = _question_words(question.text)
    if not [w for w in words if w not in _JOINERS and w not in _Q_STOP and stem(w) not in asked]:
        return None  # "Who is on the IPCC Panel?": "The IPCC Panel"
    for candidate, _ in typed:
        size = candidate.end - candidate.start
        if candidate.start <= start and end <= candidate.end and size < 3 * (end - start) + 20:
            return 0, candidate.start, candidate.end
    return 0, start, end


def score_spans(question: Question, sentence: str) -> list[tuple[Span, float]]:
    """Every candidate span of the wanted type with its score (higher is better)."""
    want = wanted(question)
    if want is None or not sentence.strip() or len(sentence) > MAX_SENTENCE_CHARS:
        return []  # a "sentence" of pages (a run-on a document may hold) has no short answer
    kind, noun = want
    spans = candidates(kind, noun, sentence, question.text)
    asked = _question_words(question.text)
    anchors = _anchors(sentence, asked)
    prep = _TRAILING_PREP.search(question.text)
    scored = []
    for span in spans:
        words = [w.lower() for w in WORD.findall(sentence[span.start : span.end])]
        content = [w for w in words if w not in _JOINERS]
        new = [w for w in content if stem(w) not in asked]
        if not new:
            continue  # the question's own words are not its answer
        value = span.bonus + 0.2 * len(new) / max(len(content), 1)
        agent = AGENT.search(sentence[max(0, span.start - 30) : span.start])
        if agent and stem(agent.group(1)) in asked:
            value += 0.6  # "Who led the project?": "... led by Airbus"
        before = sentence[max(0, span.start - 24) : span.start].lower()
        if prep and re.search(rf"\b{prep.group(1).lower()}\s+(the\s+)?$", before):
            value += 0.4  # "Which think tank is Feld from?": "... from the Corbett Institute"
        outside = [a for a in anchors if a[1] <= span.start or span.end <= a[0]]
        if outside:
            gap = min(_gap(span, a) for a in outside)
            value += 1.0 / (1.0 + gap / 12.0)
        scored.append((span, value))
    # A name that carries the asked noun ("KX1 rocket") beats any name that merely stands near.
    fitting = [pair for pair in scored if pair[0].fits]
    return fitting or scored


_JOINERS = frozenset("of for the de du la van von der al bin da di del and s".split())


def wanted(question: Question) -> tuple[str, str | None] | None:
    """What kind of span answers ``question``: (kind, noun) or None when it asks for no thing.

    Kinds: person, place, date, duration, money, percent, count, statement, instance, thing.
    ``noun`` is the thing counted ("meteors") or the kind of instance ("think tank").
    """
    text = question.text.strip()
    kind = question.kind
    asking = _asking_sentence(text)
    if asking != text:
        # "Joe Biden was sworn in on Wednesday. Which president is he?": the kind is that of
        # the sentence that asks, not of the story before it.
        from assistant.answering.question import analyse

        text, kind = asking, analyse(asking).kind
    if kind is None and _BY_WHEN.search(text):
        kind = "date"
    if kind in (None, "instance") and _MEASURE_NOUN.search(text):
        kind = "number"
    if _NO_THING.search(text):
        return None
    noun = _which_noun(text)
    if kind in ("number", "place") and noun and singular(noun.split()[-1]) in KNOWN_NOUNS:
        kind = "instance"  # "Which state has the highest price?" asks for a state
    if kind == "number":
        many = _HOW_MANY_WORDS.search(text)
        if many:
            # The counted noun: the first plural of the words after "how many", else the first.
            words = many.group(1).lower().split()
            return "count", next((w for w in words if w.endswith("s")), words[0])
        if _PERCENT_Q.search(text) and not _MONEY_Q.search(text):
            return "percent", None
        return ("money" if _MONEY_Q.search(text) else "measure"), None
    if kind in ("person", "date", "duration", "place", "statement"):
        return kind, None
    if _DEFINITION.match(text) and not _DEFINITION_HAS_VERB.search(text):
        return None
    if noun and noun.split()[-1] in _AMOUNT_NOUNS:
        return "money", None  # "What budget...?" asks for an amount, not a name
    if noun:
        return "instance", noun
    if re.match(r"^\W*(what|which)\b", text, re.I):
        return "thing", None
    # A quiz's statement form: "This artist is the first to ...": an instance of "artist".
    quiz = _THIS_NOUN.match(text)
    if quiz and not re.search(r"\b(who|what|which|when|where|why|how)\b", text, re.I):
        noun = _which_noun("which " + text[quiz.end() :])
        if noun:
            return "instance", noun
    return None


def _which_noun(text: str) -> str | None:
    """The noun phrase of "which X ..."/"what X ..." ("think tank", "engines"), if any."""
    for pattern in (_WHICH, _WHICH_END):
        match = pattern.search(text)
        if match:
            words = []
            for w in match.group(1).lower().split():
                if w in STOP_AFTER or w in ("did", "do", "does", "is", "was", "are"):
                    break  # "which bank to have": "bank"
                if w not in _AUX:
                    words.append(w)
            while words and words[0] in _ADJECTIVES:
                words.pop(0)  # "which major city": "city"
            if words:
                return " ".join(words)
            break
    # "which major Chicago-based music festival is set to open": the last word of the run
    # after "which" that ends before a preposition, a verb or an adverb.
    match = re.search(
        r"\b(?:which|what)\s+(?:of the following\s+)?((?:[\w’'-]+\s*){1,5})", text, re.I
    )
    if not match:
        return None
    run: list[str] = []
    for word in match.group(1).split():
        bare = re.sub(r"[’']s$", "", word.lower().strip("?,.;:"))
        if bare in _ADJECTIVES and not run:
            continue
        if bare in _AUX or bare in STOP_AFTER or bare.endswith("ly") or bare in _NOT_NOUNS:
            break
        run.append(bare)
        if word.endswith(("?", ",", ".", "’s", "'s")):
            break
    return run[-1] if run else None


_ADJECTIVES = frozenset(
    "major former classic new old popular famous iconic first last other additional big bigger "
    "biggest large larger largest small smallest top leading two three four five several "
    "many most the a an one".split()
)
_NOT_NOUNS = frozenset("did do does is was are were has have had will would can could".split())


def _asking_sentence(text: str) -> str:
    """The sentence of a question that asks (the last with a question word or a "?")."""
    parts = [p for p in re.split(r"(?<=[.?!])\s+(?=[A-Z“\"])", text) if p.strip()]
    if len(parts) < 2:
        return text
    asking = [
        p
        for p in parts
        if p.rstrip().endswith("?")
        or re.search(r"\b(who|whom|whose|what|which|when|where|why|how)\b", p, re.I)
    ]
    return asking[-1] if asking else text


_Q_STOP = frozenset(
    """
    what which who whom whose when where why how is are was were do does did has have had the a
    an of in on at to for from with by about as be been being this that these those it its and
    or much many long say said says tell told
    """.split()
)


def _question_words(question: str) -> set[str]:
    return {stem(w) for w in WORD.findall(question) if w.lower() not in _Q_STOP}


def _anchors(sentence: str, asked: set[str]) -> list[tuple[int, int]]:
    """Where words of the question appear in the sentence."""
    return [
        (m.start(), m.end())
        for m in WORD.finditer(sentence)
        if m.group(0).lower() not in _Q_STOP and stem(m.group(0)) in asked
    ]


def _gap(span: Span, anchor: tuple[int, int]) -> int:
    if anchor[1] <= span.start:
        return span.start - anchor[1]
    if span.end <= anchor[0]:
        return anchor[0] - span.end
    return 0
