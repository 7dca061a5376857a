"""Sentence spans (``assistant/text/sentences.py``): the exact stretches of text that citations
quote.

A citation shows ``text[start:end]`` of a sentence, so a span must start and end on the
sentence itself: a span cut at "Dr." or "U.S." quotes half a sentence, and one that runs over
a real end quotes two.
"""

from __future__ import annotations

from assistant.text.sentences import sentence_spans
from ingest.normalize import clean_inline
from tests.conftest import ARTICLE


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def assert_exact(text: str, spans: list[tuple[int, int]]) -> None:
    """Spans are in order, do not overlap, hold no outer white space, and together cover every
    character of the text that is not white space."""
    covered = set()
    previous_end = 0
    for a, b in spans:
        assert previous_end <= a < b <= len(text)
        piece = text[a:b]
        assert piece == piece.strip() and "\n" not in piece
        covered.update(range(a, b))
        previous_end = b
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_every_sentence_of_the_test_article_is_an_exact_span() -> None:
    text = clean_inline(ARTICLE.read_text(encoding="utf-8"))
    spans = sentence_spans(text)
    assert len(spans) > 30
    assert_exact(text, spans)
    found = [text[a:b] for a, b in spans]
    assert (
        "Based in Pune, Kestrel has surprised investors and industry analysts with its KX1 "
        in (found[2])
    )
    assert (
        "“Restrictions on India’s engine access pushed Kestrel’s engineers to design lighter "
        "rockets that reach orbit without needing enormous amounts of fuel,” said Tobias "
        "Lindqvist from Uppsala University."
    ) in found


def test_a_run_on_is_two_sentences_once_the_text_is_cleaned() -> None:
    raw = "It was led by Airbus and Arianespace.Remarkably, Kestrel did it for less."
    # The raw run-on has no space to split at: one sentence until cleaning restores the space.
    assert sentences(raw) == [raw]
    text = clean_inline(raw)
    assert sentences(text) == [
        "It was led by Airbus and Arianespace.",
        "Remarkably, Kestrel did it for less.",
    ]
    assert_exact(text, sentence_spans(text))


def test_spans_within_a_range_are_offsets_into_the_whole_document() -> None:
    text = "Kestrel nears launch\n\nIt raised $18.5 million. The flight is in October. Done."
    start = text.index("It raised")
    end = text.index(" Done.")
    spans = sentence_spans(text, start, end)
    assert spans == [
        (start, start + len("It raised $18.5 million.")),
        (text.index("The flight"), end),
    ]
    assert [text[a:b] for a, b in spans] == [
        "It raised $18.5 million.",
        "The flight is in October.",
    ]


def test_titles_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    assert sentences(
        "He met Gen. Rao and Prof. Iyer of Northbank Capital Inc. in Pune. It rained."
    ) == [
        "He met Gen. Rao and Prof. Iyer of Northbank Capital Inc. in Pune.",
        "It rained.",
    ]
    assert sentences("It ranked No. 1 in Europe. Raman Jr. said so, as did J. K. Mehta.") == [
        "It ranked No. 1 in Europe.",
        "Raman Jr. said so, as did J. K. Mehta.",
    ]
    assert sentences("Launch is set for Oct. 14 in Sriharikota. Crews are ready.") == [
        "Launch is set for Oct. 14 in Sriharikota.",
        "Crews are ready.",
    ]


def test_an_acronym_ends_a_sentence_only_before_a_plain_sentence_start() -> None:
    assert sentences("The U.S. Senate voted. It was 5 p.m. The launch slipped.") == [
        "The U.S. Senate voted.",
        "It was 5 p.m.",
        "The launch slipped.",
    ]


def test_figures_and_decimals_stay_inside_their_sentence() -> None:
    assert sentences("The deal is worth $1.2 bn. 2024 was a record year. See section 4.2 now.") == [
        "The deal is worth $1.2 bn.",
        "2024 was a record year.",
        "See section 4.2 now.",
    ]


def test_quotes_and_brackets_stay_with_their_sentence() -> None:
    assert sentences(
        "“We are ready,” said Priya Raman. “The engines are tested.” Then she left."
    ) == [
        "“We are ready,” said Priya Raman.",
        "“The engines are tested.”",
        "Then she left.",
    ]
    # A question inside a quote, followed by a lower-case attribution, is one sentence.
    assert sentences("“Is it safe?” she asked. Nobody answered.") == [
        "“Is it safe?” she asked.",
        "Nobody answered.",
    ]
    assert sentences('He said: "We go." (The board agreed.) They went.') == [
        'He said: "We go."',
        "(The board agreed.)",
        "They went.",
    ]


def test_accented_capitals_start_a_sentence() -> None:
    assert sentences("Il a dit oui. Élan grew fast. Über alles.") == [
        "Il a dit oui.",
        "Élan grew fast.",
        "Über alles.",
    ]


def test_a_line_break_always_ends_a_sentence() -> None:
    text = "Key figures:\n- Budget $18.5 million\n- First flight in October"
    assert sentences(text) == [
        "Key figures:",
        "- Budget $18.5 million",
        "- First flight in October",
    ]
    assert_exact(text, sentence_spans(text))
