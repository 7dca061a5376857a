"""Who said what (``assistant/answering/attribution.py``), on short passages written here.

A briefing's "who said what" lists each statement with its speaker's name, role and
affiliation; these tests read what a user would see there.
"""

from __future__ import annotations

from assistant.answering.attribution import Said, statements
from assistant.index.passages import DocumentSentence
from assistant.index.registry import DocumentRecord
from assistant.text.sentences import sentence_spans


def said(text: str) -> list[Said]:
    """The statements of one document whose cleaned text is ``text``."""
    record = DocumentRecord(
        collection="default",
        doc_id="doc",
        source="doc.txt",
        title="doc",
        date=None,
        kind="text",
        content_hash="hash",
        text=text,
        chunk_count=1,
        token_count=0,
        size_bytes=len(text),
    )
    spans = sentence_spans(text)
    return statements(
        [DocumentSentence(record, 0, k, a, b, text[a:b]) for k, (a, b) in enumerate(spans)]
    )


def who(text: str) -> list[tuple[str, str]]:
    return [(s.speaker, s.quote) for s in said(text)]


def test_quote_first_said_name_from_body() -> None:
    [s] = said(
        "“Lighter rockets reach orbit with far less fuel,” said Tobias Lindqvist "
        "from Uppsala University."
    )
    assert (s.speaker, s.affiliation) == ("Tobias Lindqvist", "Uppsala University")
    assert s.quote == "Lighter rockets reach orbit with far less fuel" and s.quoted and s.person


def test_likened_it_to_keeps_the_verb_and_the_quoted_words() -> None:
    [s] = said("Venture capitalist Helena Ward likened it to a “Kitty Hawk moment” for India.")
    assert (s.speaker, s.role) == ("Helena Ward", "Venture capitalist")
    assert s.quote == "likened it to a “Kitty Hawk moment” for India"


def test_a_title_before_a_name_is_the_role_not_part_of_the_name() -> None:
    [kowalski] = said("Former MEP Jan Kowalski argued that the export rules still make sense.")
    assert (kowalski.speaker, kowalski.role) == ("Jan Kowalski", "Former MEP")
    assert kowalski.quote == "the export rules still make sense" and not kowalski.quoted
    [brandt] = said("Space Commissioner Carl Brandt said the programme would go ahead as planned.")
    assert (brandt.speaker, brandt.role) == ("Carl Brandt", "Space Commissioner")


def test_he_and_she_are_the_last_named_speaker() -> None:
    text = (
        "Tobias Lindqvist said the rules were weak and easy to dodge. "
        "Amara Okafor said the costs were far lower than expected. "
        "“Nobody saw this coming at all,” she said."
    )
    assert who(text) == [
        ("Tobias Lindqvist", "the rules were weak and easy to dodge"),
        ("Amara Okafor", "the costs were far lower than expected"),
        ("Amara Okafor", "Nobody saw this coming at all"),
    ]


def test_a_pronoun_far_from_any_speaker_is_not_guessed() -> None:
    text = (
        "Amara Okafor said the costs were far lower than expected. The rocket flew. "
        "The crowd cheered. The engines cooled. Night fell. “Nobody saw this coming,” she said."
    )
    assert [s for s, _ in who(text)] == ["Amara Okafor"]


def test_a_bare_surname_is_the_full_name_given_earlier() -> None:
    text = (
        "Former MEP Jan Kowalski spoke in Brussels. "
        "Kowalski argued that the rules still make sense today."
    )
    [s] = said(text)
    assert (s.speaker, s.role) == ("Jan Kowalski", "Former MEP")


def test_a_capitalised_word_closing_a_quote_is_not_part_of_the_name() -> None:
    text = "“We will fly in October,” Raman said. Priya Raman founded Kestrel in 2019."
    assert who(text) == [("Priya Raman", "We will fly in October")]


def test_a_quote_only_sentence_continues_its_speaker() -> None:
    text = (
        "“The engines are tested,” said Priya Raman of Kestrel. "
        "“The first flight is set for October.”"
    )
    assert who(text) == [
        ("Priya Raman", "The engines are tested"),
        ("Priya Raman", "The first flight is set for October"),
    ]


def test_role_and_body_from_an_appositive() -> None:
    [okafor] = said(
        "“It has upended long-standing beliefs about rockets,” said Amara Okafor, "
        "a senior fellow at Leiden University."
    )
    assert (okafor.role, okafor.affiliation) == ("senior fellow", "Leiden University")
    [leah] = said(
        "Dr Leah Okafor, head of research at the Corbett Institute, said the costs "
        "were not fully disclosed."
    )
    assert (leah.speaker, leah.role, leah.affiliation) == (
        "Leah Okafor",
        "head of research",
        "Corbett Institute",
    )


def test_a_possessive_before_the_name_gives_role_and_body() -> None:
    [s] = said(
        "Kestrel’s founder, Priya Raman, acknowledged that the ban on foreign engines "
        "posed serious challenges."
    )
    assert (s.speaker, s.role, s.affiliation) == ("Priya Raman", "founder", "Kestrel")
    assert s.quote == "the ban on foreign engines posed serious challenges"


def test_told_reporters_that() -> None:
    assert who("Priya Raman told reporters that the engines were tested and ready.") == [
        ("Priya Raman", "the engines were tested and ready")
    ]


def test_passive_told_by_is_not_the_subjects_statement() -> None:
    assert said("He was told by a doctor that the infection was mild and would pass.") == []


def test_a_name_followed_by_of_and_a_body() -> None:
    [s] = said("Priya Raman of Kestrel Dynamics said the engines were ready for October.")
    assert (s.speaker, s.affiliation) == ("Priya Raman", "Kestrel Dynamics") and s.person
    # A body's own "of" stays in its name.
    [academy] = said("The National Academy of Sciences said the costs were far lower than hoped.")
    assert academy.speaker == "National Academy of Sciences" and not academy.person


def test_abbreviated_titles_and_initials_stay_with_the_name() -> None:
    text = (
        "Illinois Gov. J.B. Pritzker said the state would help every county. "
        "Pritzker added that the fund would open in May."
    )
    assert [(s.speaker, s.role) for s in said(text)] == [
        ("J.B. Pritzker", "Illinois Gov."),
        ("J.B. Pritzker", "Illinois Gov."),
    ]
    [durbin] = said("Sen. Dick Durbin said the hearing would come within a few weeks.")
    assert (durbin.speaker, durbin.role) == ("Dick Durbin", "Sen.")


def test_organisations_and_named_groups_speak_too() -> None:
    [federation] = said(
        "The Federation of Calder Importers said the new rules would cost jobs across the region."
    )
    assert federation.speaker == "Federation of Calder Importers" and not federation.person
    [economists] = said("Economists at Northbank Capital warned that prices would rise by March.")
    assert economists.speaker == "Economists at Northbank Capital"
    assert economists.quote == "prices would rise by March"


def test_unnamed_speakers_and_plain_narration_are_not_attributed() -> None:
    for text in (
        "Experts said the launch was a turning point for the industry.",
        "Officials said the launch would be delayed by a week.",
        "Retailers said sales fell sharply in the quarter.",
        "The weather was fine and the rocket rose into a clear sky over the coast.",
    ):
        assert said(text) == [], text
