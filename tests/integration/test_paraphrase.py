"""Questions in other words than the article's are answered, from the sentence that holds the
answer, with the short answer cut from it (issue 15, points 1 and 2).

The article is ours (tests/data/kestrel-launch.txt) and has the seed article's shape; each
question paraphrases its sentence ("think tank" for "institute", "affiliated with" for
"from", "compare ... to" for "likened it to"), so words alone do not find the answer. Run
through the real model, a real Chroma and the shipped readers.
"""

from __future__ import annotations

import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE

#: (question, words the cited sentence must hold, what the short answer must hold or None)
PARAPHRASES = [
    ("Which think tank is Marcus Feld from?", "Corbett Institute", "Corbett Institute"),
    ("Which university is Tobias Lindqvist affiliated with?", "Uppsala University", "Uppsala"),
    ("Where is Amara Okafor a senior fellow?", "Leiden University", "Leiden University"),
    ("What did Helena Ward compare Kestrel's rise to?", "Kitty Hawk moment", "Kitty Hawk"),
    ("Who does Marcus Feld work for?", "Corbett Institute", "Corbett Institute"),
    ("Which company returned to profitability despite sanctions?", "Orbitex", "Orbitex"),
    ("What did Marcus Feld say about the development costs?", "historical trends", None),
]

#: Questions the article does not answer: still "the documents don't say".
ABSENT = [
    "What is the capital of Australia?",
    "Who won the 2022 football World Cup?",
    "How many employees does Orbitex have?",
    "Which bank is Priya Raman's lender?",
    "Where is Marcus Feld's office?",
]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    a = Assistant(Settings(data_dir=tmp_path_factory.mktemp("data")))
    a.ingest([ARTICLE])
    return a


@pytest.mark.parametrize(("question", "sentence", "short"), PARAPHRASES)
def test_paraphrase_is_answered_from_its_sentence(
    assistant: Assistant, question: str, sentence: str, short: str | None
) -> None:
    answer = assistant.ask(question)
    assert not answer.abstained, f"abstained on {question!r}"
    quotes = [c.quote for c in answer.citations]
    # first, or second after the sentence its leading "It" refers to
    assert any(sentence in q for q in quotes[:2]), f"{question!r} cited {quotes}"
    if short is None:
        return
    assert answer.short and short in answer.short, f"{question!r}: short {answer.short!r}"
    # the short answer is the source's own words, inside the cited sentence
    cited = answer.citations[answer.short_citation - 1]
    assert answer.short in cited.quote


@pytest.mark.parametrize(
    ("question", "introduction"),
    [
        ("What is Kestrel?", "Indian start-up Kestrel Dynamics"),
        ("What is Orbitex?", "Satellite maker Orbitex"),
        ("Who is Priya Raman?", "founder, Priya Raman"),
    ],
)
def test_what_is_answered_by_the_sentence_that_introduces_it(
    assistant: Assistant, question: str, introduction: str
) -> None:
    """(No "Who is Helena Ward?" here: the rules answered it only through "capitalist" in
    ``definition._KINDS``, a word taken from this article's "Venture capitalist Helena Ward"
    and removed as fitted to it.)"""
    answer = assistant.ask(question)
    assert not answer.abstained, f"abstained on {question!r}"
    assert introduction in answer.citations[0].quote, answer.text


@pytest.mark.parametrize("question", ABSENT)
def test_what_the_article_does_not_say_is_abstained_on(assistant: Assistant, question) -> None:
    assert assistant.ask(question).abstained
