"""The question shapes that decide special handling: questions about a quoted person
(``people.asks_about_person``) and "what is X" questions (``definition``)."""

from __future__ import annotations

import pytest

from assistant.answering.definition import asked_name, introduces
from assistant.answering.people import asks_about_person


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which think tank is Marcus Feld from?", "affiliation"),
        ("Which university is Tobias Lindqvist affiliated with?", "affiliation"),
        ("Where is Amara Okafor a senior fellow?", "affiliation"),
        ("Who does Marcus Feld work for?", "affiliation"),
        ("What organisation is Jan Kowalski the director of?", "affiliation"),
        ("What did Helena Ward compare Kestrel's rise to?", "statement"),
        ("What did Feld say about the costs?", "statement"),
        # about a thing of the person's, or about no person: not these shapes
        ("Where is Marcus Feld's office?", None),
        ("Which bank is Priya Raman's lender?", None),
        ("Which company returned to profitability?", None),
        ("where is the launch site?", None),
    ],
)
def test_questions_about_a_person(question: str, kind: str | None) -> None:
    assert asks_about_person(question) == kind


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("What is Kestrel?", "Kestrel"),
        ("Who is Priya Raman?", "Priya Raman"),
        ("what is the KX1?", "KX1"),
        ("What is the capital of France?", None),
        ("What is happening?", None),
    ],
)
def test_what_is_questions(question: str, name: str | None) -> None:
    assert asked_name(question) == name


@pytest.mark.parametrize(
    ("name", "sentence", "expected"),
    [
        (
            "Kestrel",
            "It fueled the rise of Indian start-up Kestrel Dynamics, deepening fears.",
            True,
        ),
        ("Priya Raman", "Kestrel’s founder, Priya Raman, acknowledged the ban.", True),
        ("Orbitex", "Orbitex is a satellite maker in Bengaluru.", True),
        ("Orbitex", "Orbitex, a satellite maker, returned to profit.", True),
        ("Kestrel", "Based in Pune, Kestrel has surprised investors.", False),
        ("Kestrel", "Kestrel’s engineers designed lighter rockets.", False),
    ],
)
def test_introductions(name: str, sentence: str, expected: bool) -> None:
    assert introduces(name, sentence) is expected
