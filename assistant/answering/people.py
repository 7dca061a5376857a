"""Questions about a person the documents quote: where they work, what they said.

"Which think tank is Marcus Feld from?" shares almost no words with "“...,” said Marcus Feld
from the Corbett Institute", so closeness in words and meaning, which the abstention model
weighs, calls the sentence a poor match, though it answers. Such questions have a shape: they
name a person and ask for an affiliation ("which think tank / university ...", "where is X a
fellow", "who does X work for") or for what the person said ("what did X say / compare ... to /
call ..."). When the sentence the answer would lead with attributes a statement to that person
(``briefing.attribution``: speaker, role, affiliation), with an affiliation for the first kind,
that sentence answers: ``vouches`` says so, and the answer is given rather than abstained on.
"""

from __future__ import annotations

import re

from assistant.answering.attribution import statements
from assistant.index.passages import DocumentSentence
from assistant.index.registry import DocumentRecord

_ORGS = (
    r"think[- ]tanks?|universit(?:y|ies)|institut(?:e|es|ion|ions)|organi[sz]ations?|"
    r"compan(?:y|ies)|firms?|agenc(?:y|ies)|groups?|banks?|colleges?|schools?|cent(?:re|er)s?|"
    r"foundations?|newspapers?|outlets?|publications?|part(?:y|ies)|departments?|ministr(?:y|ies)|labs?|"
    r"laborator(?:y|ies)|bod(?:y|ies)|employers?|networks?|unions?|charit(?:y|ies)|funds?|"
    r"councils?|committees?|campaigns?|teams?|outfits?"
)
_NAME = r"(?-i:[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,3})"
#: Asks where a person belongs, the person being the subject: "Which think tank is Marcus Feld
#: from?", "Where is Amara Okafor a senior fellow?", "Who does Feld work for?" (not "Where is
#: Feld's office?", which asks about a thing of theirs).
AFFILIATION = re.compile(
    r"^\W*(?:"
    rf"(?:which|what)\s+(?:[\w-]+\s+){{0,2}}(?:{_ORGS})\s+(?:is|was|does|did)\s+{_NAME}\s+"
    r"(?:(?:work|works|worked)\s+(?:for|at)|(?:is\s+)?affiliated\s+with|from|with|at|for"
    r"|(?:a|an|the)\s+(?:[\w-]+\s+){0,3}(?:at|of|with))"
    rf"|where\s+(?:is|was)\s+{_NAME}\s+(?:a|an)\s+(?:[\w-]+\s*){{1,3}}"
    rf"|where\s+(?:does|did)\s+{_NAME}\s+work"
    rf"|who\s+(?:does|did)\s+{_NAME}\s+work\s+for"
    r")\W*$",
    re.I,
)
#: Asks what a person said, compared something to, called something...
STATEMENT = re.compile(
    r"^\W*(?:what|how)\s+(?:did|does|has|have)\s+.+?\s+(?:say|said|compare|liken|call|describe|"
    r"argue|warn|note|claim|predict|suggest|conclude|add|acknowledge|tell)\b",
    re.I,
)
_CAPITAL = re.compile(r"\b[A-Z][\w'’-]+")


def asks_about_person(question: str) -> str | None:
    """ "affiliation" or "statement" when the question has one of those shapes and names
    someone (a capitalised word after its first), else None."""
    if not _CAPITAL.search(question.strip(), 1):
        return None
    if STATEMENT.search(question):
        return "statement"
    if AFFILIATION.search(question.strip()):
        return "affiliation"
    return None


def vouches(question: str, record: DocumentRecord, start: int, end: int) -> bool:
    """True when the sentence ``record.text[start:end]`` attributes a statement to a person the
    question names (matched by surname), with an affiliation where the question asks for one.
    Names in the sentence are resolved against the whole document ("Feld" is "Marcus Feld")."""
    kind = asks_about_person(question)
    if kind is None:
        return False
    asked = {re.sub(r"['’]s?$", "", w.lower()) for w in _CAPITAL.findall(question)}
    for said in statements([DocumentSentence(record, 0, 0, start, end, record.text[start:end])]):
        if not said.person or not said.speaker:
            continue
        surname = said.speaker.split()[-1].lower()
        if surname not in asked:
            continue
        if kind == "statement" or said.affiliation:
            return True
    return False
