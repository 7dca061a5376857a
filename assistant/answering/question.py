"""Reading a question before it is answered: its key terms, the names a follow-up carries over,
whether a document's sentence reads as an instruction, and whether the question asks for an
overview of whole documents rather than a fact.

What the answer is and whether the documents give it are not decided here: the learned reader
(``reader.py``) decides both.
"""

from __future__ import annotations

import re

from assistant.index.lexical import query_stop, tokenize

# Two or more capitalised words in a row ("Liang Wenfeng", "Marc Andreessen"), or a title: what
# a follow-up carries over from the previous answer ("What did he say next?").
_NAME = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|Prof|President|Senator|Minister|Chancellor|Governor|Mayor)\.? [A-Z]"
    r"|\b[A-Z][a-z'’\-]+(?: (?:[A-Z]\.|van|von|de|al|bin|da|di|[A-Z][a-z'’\-]+))+"
)


def key_terms(text: str) -> list[str]:
    """The stemmed words of ``text`` that carry its content (the lexical index's query stop
    words removed), in order, each once."""
    stop = query_stop()
    return [t for t in dict.fromkeys(tokenize([text])[0]) if t not in stop]


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
