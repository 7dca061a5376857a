"""Who said what: quoted and reported statements, their speakers and who the speakers are.

Patterns of English news and report prose, applied sentence by sentence:

* quote first: “...,” said Jeffrey Ding from George Washington University. / “...,” he said.
* speaker first: Venture capitalist Marc Andreessen likened it to a “Sputnik moment”. /
  Kennedy, now the director of X, suggested that ... / Heim also noted that ...
* a sentence that is all quotation, right after an attributed one, continues that speaker.

A speaker is a named person or body: "He"/"She" is the last speaker of the document, a bare
surname is the full name the document gave earlier ("Ding" is Jeffrey Ding), and a subject
without a proper noun ("experts", "Retailers") is not a speaker. Titles before a name
("Former US Representative") and appositives after it ("a senior fellow at Yale Law School")
give the role and the affiliation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.index.passages import DocumentSentence
from assistant.text.sentences import sentence_spans

_VERBS = (
    "said|says|say|told|tells|added|adds|noted|notes|argued|argues|warned|warns|stated|"
    "explained|explains|acknowledged|acknowledges|admitted|admits|claimed|claims|suggested|"
    "suggests|concluded|questioned|likened|likens|called|calls|described|describes|insisted|"
    "insists|wrote|writes|predicted|predicts|estimated|estimates|urged|cautioned|stressed|"
    "emphasised|emphasized|observed|remarked|declared|announced|countered|conceded|maintained|"
    "asked|replied|believes|pointed out|points out|according to|reported|confirmed|recalled"
)
_VERB = re.compile(rf"\b({_VERBS})\b")
#: Verbs whose object is what was said ("said the deal was fair"); others keep the verb
#: ("likened it to a “Sputnik moment”").
_CLAUSE_VERBS = frozenset(
    """said says say told tells added adds noted notes argued argues warned warns stated
    explained explains acknowledged acknowledges admitted admits claimed claims suggested
    suggests concluded insisted insists wrote writes predicted predicts estimated estimates
    stressed emphasised emphasized observed remarked declared announced countered conceded
    maintained replied believes reported confirmed recalled""".split()
) | {"pointed out", "points out"}
#: Verbs whose clause may follow without "that" ("said the deal was fair"); after the others
#: ("announced in May a 210 million expansion") a bare object is a thing, not words.
_BARE_VERBS = frozenset("said says say added adds argued argues wrote writes noted notes".split())
_OPEN = '“«"'
_CLOSE = '”»"'
_QUOTE_FIRST = re.compile(
    r"^[“\"«](?P<q>.+?)[,]?[”\"»]\s*,?\s*(?:(?P<verb>" + _VERBS + r")\s+(?P<after>.+?)"
    r"|(?P<before>[^“”\"]+?)\s+(?P<verb2>" + _VERBS + r")(?P<rest>\b.*?))\s*[.!?]?$",
    re.S,
)
_LEAD = re.compile(
    r"^(?:(?:However|Nevertheless|Nonetheless|But|And|Meanwhile|Still|Yet|Instead|Separately|"
    r"Later|Earlier|In response|In a statement|Last week|Last month|On \w+day)\b,?\s*)+"
)
_AUX = re.compile(
    r"\s+(?:also|later|then|previously|repeatedly|publicly|recently|has|have|had|was|is|were|"
    r"would|will|once|further|separately|earlier)$"
)
_PRONOUN = re.compile(r"^(?:he|she)$", re.I)
_SUBORDINATE = re.compile(
    r"^(?:while|although|though|when|if|as|because|after|before|despite|since|unless|whether|"
    r"which|who|that|this|these|it|they|we|i|you)\b",
    re.I,
)
#: Words of a title or a description before a name; never part of the name itself.
_TITLE_WORDS = frozenset(
    """former late acting deputy vice president presidents senator senators representative
    rep congressman congresswoman mp mps mep meps lawmaker legislator minister ministers prime
    secretary general governor mayor
    chancellor ambassador chairman chairwoman chair ceo cfo cto coo chief executive director
    professor prof dr mr mrs ms mx sir dame lord lady judge justice king queen prince princess
    premier commissioner economist analyst founder co-founder cofounder spokesman
    spokeswoman spokesperson state foreign finance defence defense trade us u.s. uk eu un
    venture capitalist investor researcher scientist author editor officer head manager
    leader general-secretary president-elect senior junior adviser advisor fellow sen gov gen lt
    col capt sgt adm rev hon pres""".split()
)
_ORG_WORDS = frozenset(
    """union federation institute institution authority ministry corporation company inc
    ltd plc bank university college school center centre council agency department
    commission association group fund office party government court board committee
    foundation society trust organisation organization service services network times post
    journal news press agency bureau lab laboratory laboratories labs capital partners
    academy republic states kingdom nations museum assembly parliament congress senate club
    chamber division""".split()
)
_ORG_HEADS = frozenset(
    """authority union government ministry company council commission agency department
    regulator federation bank court police board committee""".split()
)
_PREPOSITIONS = frozenset("at of from in for with during on by".split())
#: Words for a body of people that may speak for it ("Economists at Northbank said").
_GROUPS = frozenset(
    """economists analysts officials researchers scientists spokesman spokeswoman
    spokesperson lawyers prosecutors investigators regulators ministers diplomats""".split()
)
_CONNECT = frozenset({"of", "for", "and", "the", "de", "van", "von", "der", "du", "la", "al"})
_TOKEN = re.compile(r"\S+")
#: A token that closes a run of capitalised words: "Hangzhou," in "Based in Hangzhou, DeepSeek",
#: and "October,”" in "“We fly in October,” Raman said" (closing quotes may follow the comma).
_RUN_END = re.compile(r"[,;:.)!?][”\"’»]*$")
#: Abbreviated titles and initials, whose full stop does not close the run: "Mr. Cash",
#: "Sen. Dick Durbin", "J.B. Pritzker", "Jonathan H. Whiteson".
_TITLE_ABBREVIATION = re.compile(
    r"^(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sen|Rep|Gov|Gen|Lt|Col|Capt|Sgt|Adm|Rev|Hon|Pres)\.$"
    r"|^(?:[A-Z]\.)+$"
)
_INITIALS = re.compile(r"^(?:[A-Z]\.)+$")
_POSSESSIVE = re.compile(r"['’]s?$")
_APPOSITIVE_LEAD = r"^(?:now |then |currently |formerly |also )?(?:a |an |the )?(?P<role>.+?)\s+"
#: "head of research at the Corbett Institute": the body follows "at", "with" or "from" when one
#: is there (the "of" before it belongs to the role); else "director of the Hartmann Foundation".
_APPOSITIVE_AT = re.compile(_APPOSITIVE_LEAD + r"(?:at|with|from)\s+(?P<org>.+)$")
_APPOSITIVE = re.compile(_APPOSITIVE_LEAD + r"(?:at|of|with|from|for|in)\s+(?P<org>.+)$")
_AFFILIATION_AFTER = re.compile(r"^\s*(?:from|of|at|with)\s+(?P<org>[^,.;]+)")
_ALL_QUOTE = re.compile(r"^[“\"«][^“”\"«»]+[”\"»][.!?]?$|^[“\"«][^“”\"«»]+[.!?,][”\"»]$")
#: Longest stretch of text (one to four sentences) read for an attribution.
MAX_UNIT_CHARS = 2000
#: How many sentences back a pronoun may reach for its speaker.
_PRONOUN_REACH = 3


@dataclass
class Said:
    """A statement found in one document: who, what, and the sentences that hold it."""

    speaker: str
    quote: str
    quoted: bool
    role: str | None
    affiliation: str | None
    sentences: list[DocumentSentence]
    person: bool


@dataclass
class _Speaker:
    name: str
    role: str | None = None
    affiliation: str | None = None
    person: bool = True


class _Names:
    """The people a document names: full names by surname, and roles seen before a name."""

    def __init__(self, text: str) -> None:
        self.full: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        self.proper: set[str] = set()
        # Real sentence ends, not every full stop: "Gov. J.B. Pritzker" is one name.
        for sentence in (text[a:b] for a, b in sentence_spans(text)):
            tokens = _TOKEN.findall(sentence)
            for i, tok in enumerate(tokens):
                if i > 0 and _is_capital(tok):
                    self.proper.add(_bare(tok))
            for run, before in _runs(tokens):
                name, role = _split_title(run)
                name = _person_before_of(name)
                if len(name) >= 2 and _personlike(name):
                    full = " ".join(_bare(t) for t in name)
                    self.full.setdefault(_bare(name[-1]), full)
                    self.full.setdefault(full, full)
                    lead = [t for t in before[-2:] if t.lower() in _TITLE_WORDS]
                    role_words = lead + role
                    if role_words and full not in self.roles:
                        self.roles[full] = " ".join(role_words)

    def resolve(self, name: str) -> str:
        return self.full.get(name, name)

    def known(self, token: str) -> bool:
        return _bare(token) in self.proper or _bare(token) in self.full


def statements(sentences: list[DocumentSentence]) -> list[Said]:
    """Every attributed statement of one document's sentences (in order)."""
    if not sentences:
        return []
    names = _Names(sentences[0].doc.text)
    found: list[Said] = []
    last: tuple[_Speaker, int] | None = None
    for k, unit in enumerate(_units(sentences)):
        text = unit[0].doc.text[unit[0].start : unit[-1].end]
        if len(text) > MAX_UNIT_CHARS:
            continue  # not a sentence of prose; the patterns would only be slow on it
        said = _attribute(text, names, last[0] if last and k - last[1] <= _PRONOUN_REACH else None)
        if said is None:
            continue
        speaker, quote, quoted = said
        if len(quote.split()) < 3:
            continue
        found.append(
            Said(
                speaker.name, quote, quoted, speaker.role, speaker.affiliation, unit, speaker.person
            )
        )
        last = (speaker, k)
    return found


def _units(sentences: list[DocumentSentence]) -> list[list[DocumentSentence]]:
    """Sentences, with one whose quotation marks do not close joined to the next (up to 4)."""
    units: list[list[DocumentSentence]] = []
    i = 0
    while i < len(sentences):
        unit = [sentences[i]]
        while _open_quotes(" ".join(s.text for s in unit)) and len(unit) < 4:
            if i + len(unit) >= len(sentences):
                break
            nxt = sentences[i + len(unit)]
            if nxt.doc is not unit[-1].doc or nxt.position != unit[-1].position + 1:
                break
            unit.append(nxt)
        units.append(unit)
        i += len(unit)
    return units


def _open_quotes(text: str) -> bool:
    curly = text.count("“") - text.count("”")
    return curly > 0 or (curly == 0 and text.count('"') % 2 == 1)


def _attribute(
    text: str, names: _Names, last: _Speaker | None
) -> tuple[_Speaker, str, bool] | None:
    """(speaker, what they said, whether it is their quoted words) of a sentence, or None."""
    text = text.strip()
    m = _QUOTE_FIRST.match(text)
    if m:
        quote = m.group("q").strip().rstrip(",")
        who = m.group("after") if m.group("verb") else m.group("before")
        if m.group("verb2") and m.group("rest") and m.group("rest").strip(" .,"):
            # “...,” he said, adding that ...: the words after are his too, but the quote leads.
            pass
        speaker = _speaker(who, names, last, quote_first=True)
        return (speaker, quote, True) if speaker else None
    if _ALL_QUOTE.match(text) and last is not None:
        return last, text.strip(" .")[1:].rstrip('”"».!?,'), True
    for verb in _VERB.finditer(text):
        if _inside_quotes(text, verb.start()):
            break
        subject = text[: verb.start()]
        if any(c in subject for c in _OPEN):
            break
        speaker = _speaker(subject, names, last)
        if speaker is None:
            continue
        rest = text[verb.end() :].strip()
        what = _what(verb.group(1), rest)
        if what is None:
            return None
        if _is_whole_quote(what):
            return speaker, what.strip(" .")[1:-1].rstrip(" ,."), True
        return speaker, what, False
    return None


def _what(verb: str, rest: str) -> str | None:
    """What was said, from the words after the verb."""
    rest = rest.rstrip()
    if rest.endswith("."):
        rest = rest[:-1]
    introduced = None
    if verb in ("told", "tells"):
        if rest.startswith("by "):
            return None  # "He was told by a doctor that ...": the speaker is not the subject
        # "told reporters that ...": what follows "that" is what was said.
        introduced = re.match(r"^[^,“\"]{1,60}?\bthat\s+", rest)
    if verb in ("according to",):
        return None
    introduced = introduced or re.match(r"^(?::\s*|that\s+)", rest)
    rest = rest[introduced.end() :] if introduced else rest
    if not rest or len(rest.split()) < 3:
        return None
    if verb in _CLAUSE_VERBS and (
        introduced or verb in _BARE_VERBS or re.match(r"^(?:whether\b|[“\"«])", rest)
    ):
        return rest
    if not any(c in rest for c in _OPEN):
        return None  # "called for calm" is not a statement without the words said
    return f"{verb} {rest}"


def _is_whole_quote(what: str) -> bool:
    return bool(re.match(r"^[“\"«][^“”\"«»]+[”\"»]$", what.strip(" .")))


def _inside_quotes(text: str, pos: int) -> bool:
    before = text[:pos]
    return _open_quotes(before)


def _speaker(
    phrase: str | None, names: _Names, last: _Speaker | None, quote_first: bool = False
) -> _Speaker | None:
    """The speaker a subject phrase names (with role and affiliation), or None."""
    if not phrase:
        return None
    phrase = _LEAD.sub("", phrase.strip()).strip(" ,")
    phrase = re.sub(r",?\s+(?:however|too|meanwhile|also)$", "", phrase)
    while True:
        shorter = _AUX.sub("", phrase)
        if shorter == phrase:
            break
        phrase = shorter
    if not phrase or len(phrase.split()) > 22 or any(c in phrase for c in ":;"):
        return None
    if _PRONOUN.match(phrase):
        return last
    segments = [s.strip() for s in phrase.split(",") if s.strip()]
    if any(_SUBORDINATE.match(s) for s in segments):
        return None
    for i, segment in enumerate(segments):
        tokens = _TOKEN.findall(segment)
        for run, before in _runs(tokens):
            name, title = _split_title(run)
            if not name or re.search(r"['’]s$", run[-1]):
                continue  # "DeepSeek’s founder": the owner of the title, not the speaker
            name = _person_before_of(name)
            whole = " ".join(_bare(t) for t in name)
            single = len(name) == 1
            starts = i == 0 and tokens.index(run[0]) == 0 and not quote_first
            if single and starts and not (names.known(name[0]) or _is_acronym(name[0])):
                continue  # "Retailers": capitalised only because it starts the sentence
            if not _personlike(name):
                return _body(segment, segments, i, names)
            full = names.resolve(whole)
            speaker = _Speaker(full)
            after = segment[segment.find(name[-1]) + len(name[-1]) :]
            role_words = [t for t in before if t.lower() in _TITLE_WORDS or _is_capital(t)] + title
            _describe(speaker, before, title, after, segments, i)
            role_words = [w for w in role_words if not _HONORIFICS.match(w)]
            if not speaker.role and role_words:
                speaker.role = " ".join(role_words)
            if not speaker.role:
                speaker.role = names.roles.get(full)
            if single and full == whole:
                return _body(segment, segments, i, names)  # "Economists at Northbank"
            return speaker
    return _body(segments[0], segments, 0, names) if segments else None


def _describe(
    speaker: _Speaker, before: list[str], title: list[str], after: str, segments: list[str], i: int
) -> None:
    """Role and affiliation from the words around a name."""
    m = _AFFILIATION_AFTER.match(after)
    if m:
        speaker.affiliation = _org(m.group("org"))
    pre = " ".join(before).strip()
    if i > 0:
        # "DeepSeek’s founder, Liang Wenfeng": the description is the segment before.
        pre = segments[i - 1]
    if pre:
        possessive = re.match(r"^(?P<org>.+?)['’]s\s+(?P<role>.+)$", pre)
        if possessive:
            speaker.affiliation = speaker.affiliation or _org(possessive.group("org"))
            speaker.role = possessive.group("role")
        elif any(t.lower() in _TITLE_WORDS for t in pre.split()):
            speaker.role = pre
    title = [t for t in title if not _HONORIFICS.match(t)]
    if title and not speaker.role:
        speaker.role = " ".join(title)
    for appositive in segments[i + 1 :]:
        a = _APPOSITIVE_AT.match(appositive) or _APPOSITIVE.match(appositive)
        if a and not speaker.affiliation:
            speaker.role = _join(speaker.role, a.group("role"))
            speaker.affiliation = _org(a.group("org"))
        elif not a and len(appositive.split()) <= 6:
            speaker.role = _join(speaker.role, re.sub(r"^(?:a|an|the)\s+", "", appositive))


def _body(segment: str, segments: list[str], i: int, names: _Names) -> _Speaker | None:
    """An organisation or a group as speaker ("The Federation of Calder Importers",
    "Economists at Northbank"): the head word before any preposition must be a proper noun
    or a word for a body of people."""
    words = segment.split()
    if not words or len(words) > 8:
        return None
    head_words = []
    for w in words:
        if w.lower() in _PREPOSITIONS:
            break
        head_words.append(w)
    head = _bare(head_words[-1]) if head_words else ""
    if not head:
        return None
    lowered = head.lower()
    capital = _is_capital(head) and not _is_acronym(head)
    sentence_start = len(head_words) == 1 and i == 0
    if capital and sentence_start and not names.known(head) and lowered not in _GROUPS:
        return None  # "Retailers", "Increased": capitalised only because the sentence starts
    if not (capital or lowered in _GROUPS or lowered in _ORG_HEADS):
        return None
    named = any(_is_capital(w) for w in words[1:])
    if lowered in _GROUPS and not named:
        return None  # "Officials said": whose officials the text does not say
    if (
        lowered in _ORG_HEADS
        and not capital
        and not named
        and (words[0].lower() != "the" or len(words) > 4)
    ):
        return None
    name = re.sub(r"^the\s+", "", segment, flags=re.I) if capital else segment
    speaker = _Speaker(name, person=False)
    for appositive in segments[i + 1 :]:
        speaker.role = _join(speaker.role, appositive)
    return speaker


def _runs(tokens: list[str]) -> list[tuple[list[str], list[str]]]:
    """Runs of capitalised tokens (joined by "of", "van"...), each with the tokens before it."""
    out: list[tuple[list[str], list[str]]] = []
    i = 0
    while i < len(tokens):
        if not _is_capital(tokens[i]):
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and (
            not _RUN_END.search(tokens[j - 1]) or _TITLE_ABBREVIATION.match(tokens[j - 1])
        ):
            if _is_capital(tokens[j]):
                j += 1
            elif (
                tokens[j] in _CONNECT
                and j + 1 < len(tokens)
                and _is_capital(tokens[j + 1])
                and not _POSSESSIVE.search(tokens[j - 1])
            ):
                j += 2
            else:
                break
            if _POSSESSIVE.search(tokens[j - 1]) and re.search(r"['’]s$", tokens[j - 1]):
                break
        out.append((tokens[i:j], tokens[:i]))
        i = j
    return out


def _split_title(run: list[str]) -> tuple[list[str], list[str]]:
    """A run split into (name, title words before it): "Former US Representative Mark Kennedy".

    The title ends at its last title word, so that a word of its own in between ("Space" in
    "Space Commissioner Carl Brandt") stays with the title, not the name."""
    k = 0
    for i, token in enumerate(run[:-1]):
        if _bare(token).lower() in _TITLE_WORDS:
            k = i + 1
    return run[k:], run[:k]


def _person_before_of(name: list[str]) -> list[str]:
    """A person's name that runs on into their body through "of": "Priya Raman of Kestrel" is
    "Priya Raman". A body's own "of" has one word before it ("Bank of England") or an institution's
    word ("National Academy of Sciences"), so those stay whole."""
    if "of" in name:
        head = name[: name.index("of")]
        if len(head) >= 2 and _personlike(head):
            return head
    return name


def _personlike(name: list[str]) -> bool:
    """Whether capitalised words read as a person's name rather than a body's."""
    if len(name) > 4:
        return False
    for token in name:
        word = _bare(token)
        if word.lower() in _ORG_WORDS or word.lower() in _CONNECT or _is_acronym(word):
            return False
        if not re.match(r"^[A-ZÀ-Þ][\w'’\-.]*$", word):
            return False
    return True


def _is_capital(token: str) -> bool:
    word = token.strip("“”\"'‘’()[]:;.")
    return bool(word) and word[0].isupper() and word[0].isalpha()


def _is_acronym(token: str) -> bool:
    word = _bare(token)
    return len(word) >= 2 and word.isupper() and word.isalpha()


def _bare(token: str) -> str:
    if _INITIALS.match(token):
        return token  # "J.B." keeps its full stops
    word = token.strip('“”"‘()[]:;.,')
    word = re.sub(r"['’]s$", "", word)
    return word.rstrip("'’")


def _org(text: str) -> str:
    text = text.strip(" ,.;")
    return re.sub(r"^the\s+(?=[A-Z])", "", text)


#: Forms of address, not roles: "Dr Leah Okafor" is a doctor, but her role is what follows.
_HONORIFICS = re.compile(r"^(?:dr|mr|mrs|ms|mx|miss|sir|dame)\.?$", re.I)


def _join(first: str | None, second: str | None) -> str | None:
    parts = [p for p in (first, second) if p and not _HONORIFICS.match(p)]
    return "; ".join(dict.fromkeys(parts)) or None
