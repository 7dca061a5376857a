"""Follow-up questions: "What did he acknowledge?" means nothing to a search engine alone.

Without a language model, a follow-up that leans on the conversation (a pronoun, or very few
key terms of its own) is searched together with the previous question's key words and the
names the previous answer mentioned. With a model, the model rewrites it
(``assistant/answering/llm.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.question import analyse, names

_LEANS = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|theirs|it|its|this|that|these|those|there|"
    r"then|the company|the firm|the report|the same|what about|how about|what else)\b"
    r"|^\s*(and|also|so)\b",
    re.I,
)


def previous_turn(history: Sequence[dict[str, str]] | None) -> tuple[str, str]:
    """The last user question and the assistant reply after it, from chat-style history."""
    question = reply = ""
    for turn in history or []:
        role, content = turn.get("role"), str(turn.get("content") or "")
        if role == "user":
            question, reply = content, ""
        elif role == "assistant":
            reply = content
    return question, reply


def resolve(question: str, history: Sequence[dict[str, str]] | None) -> str:
    """The question to search for: itself, or itself plus what it refers back to."""
    prev_q, prev_a = previous_turn(history)
    if not prev_q:
        return question
    own = analyse(question)
    if not _LEANS.search(question) and (
        len(own.terms) >= 3 or (own.terms and _NAMED.search(question))
    ):
        return question  # "Where is DeepSeek based?" stands alone; "What about Nvidia?" not
    carried = [t for t in re.findall(r"[\w'’-]+", prev_q) if t.lower() not in _STOP]
    people = names(re.sub(r"\[\d+\]", "", prev_a))[:3]
    extra = " ".join(dict.fromkeys([*people, *carried]))
    return f"{question} {extra}".strip()


#: A name or a number after the first word: what a question is about, said in it.
_NAMED = re.compile(r"(?<!^)\b(?:[A-Z][\w'’-]*|\d[\d,.]*)")

_STOP = set(
    """
    who whom whose what which when where why how is are was were be been do does did the a an of
    in on at to for by with from and or about did has have had will would can could should
    tell me please
    """.split()
)
