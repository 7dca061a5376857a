"""The learned reader as a user meets it, on four documents written for these tests and for
nothing else (a hospital merger, a warehouse memo, a seabird survey, a harbour's dredging
plan, a council's cuts to library hours; tests/data/README.md):
factual and paraphrased questions get a cited sentence with the short answer cut from it,
questions the documents leave open get "the documents don't say".

The questions were written before the reader was run on them, as a user would ask them; a
failure here is the reader's, not the question's. Real model, real Chroma, shipped weights.

Pending (issue 23): these are the acceptance tests of the learned reader, which is not yet
the default answerer (``BRIEF_ANSWERER=reader``). Its first trained version fails some of them
(answers where the documents are silent, abstains on paraphrases), so they are kept out of
``make test`` until it passes them; ``pytest tests/pending`` runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.answer import NOT_FOUND, Answer
from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import DATA

HOSPITALS = DATA / "wrenfield-hospitals.txt"
WAREHOUSE = DATA / "fennick-warehouse-memo.txt"
SEABIRDS = DATA / "skarholm-seabirds.txt"
HARBOUR = DATA / "lindmoor-harbour.txt"
LIBRARIES = DATA / "ferncastle-libraries.txt"

#: (question, words the cited sentence holds, words the short answer holds), in the
#: documents' own words.
FACTUAL = [
    ("Who chairs the North Ashcombe Health Board?", "Tomas Achterberg", "Achterberg"),
    ("When will the two hospitals become one trust?", "1 April 2027", "1 April 2027"),
    ("How much will it cost to set up the new trust?", "£14.2 million", "14.2 million"),
    ("Where is Fennick's new warehouse?", "Unit 7 at Brackley Park", "Brackley Park"),
    ("Which company will carry out the warehouse move?", "Pellworth Removals", "Pellworth"),
    ("How many occupied puffin burrows did the survey find?", "3,240", "3,240"),
    ("Who chairs the Lindmoor Harbour Trust?", "Agnes Halloran", "Halloran"),
    ("How much will the dredging cost?", "£6.2 million", "6.2 million"),
    ("Where is Tarrant Dredging based?", "based in Aberdeen", "Aberdeen"),
    ("When will dredging start?", "begin in March", "March"),
    ("How much is the county council contributing?", "£700,000 from the county", "700,000"),
    # the libraries: a new user's trial of both answerers (2026-12-07, eighth session), the
    # questions written with the document, before either answerer was run on it
    ("How much money will the changes save?", "£1.2 million over three years", "1.2 million"),
    ("Who is the cabinet member for communities?", "Nadia Quenby", "Quenby"),
    ("Which libraries keep their current hours?", "keep their current hours", "Pellham"),
    ("On which days will the seven branches close?", "Mondays and Wednesdays", "Mondays"),
    ("What will the self-service machines cost?", "£340,000", "340,000"),
    ("Who leads the opposition?", "Daniel Kerswell", "Kerswell"),
    ("When will the self-service machines be installed?", "by the end of the year", "end of"),
]

#: The same, asked in other words than the text's: an affiliation ("heads", "a marine
#: ecologist at"), a comparison ("less than half as many as", "almost twice the size of") and
#: a role held for now ("acting chief executive ... on an interim basis", "interim site
#: manager").
PARAPHRASED = [
    (
        "Which organisation does Rosalind Petrakis work for?",
        "Ashcombe Patients' Trust",
        "Ashcombe Patients",
    ),
    ("Where does Hamid Rostami work?", "University of Aberdour", "Aberdour"),
    ("Which hospital has more beds?", "Wrenfield General", "Wrenfield General"),
    (
        "Which is bigger, the Brackley Park unit or the Quarry Lane warehouse?",
        "almost twice the size",
        "Brackley Park",
    ),
    (
        "Who is running the hospital until a permanent chief is found?",
        "Ilse Brannigan",
        "Brannigan",
    ),
    ("Who will temporarily manage the new warehouse?", "Sunil Varga", "Sunil Varga"),
    # "The contract went to Tarrant Dredging, a firm ...", "Its secretary, Duncan Reid",
    # "The trust's chief executive, Martin Sauer", "a £2.5 million loan from the regional
    # development bank", "40 extra ship visits a year", "should take about eleven weeks"
    ("Which company won the dredging contract?", "Tarrant Dredging", "Tarrant"),
    ("Who speaks for the fishermen?", "Duncan Reid", "Reid"),
    ("Who runs the harbour trust day to day?", "Martin Sauer", "Sauer"),
    ("Which bank is lending money for the dredging?", "development bank", "development bank"),
    ("How many more ships will visit Lindmoor each year?", "40 extra ship visits", "40"),
    ("How long will the dredging take?", "about eleven weeks", "eleven weeks"),
    # "reduce opening hours at seven of its eleven branch libraries", "drew 3,418 responses",
    # "The group's chair, retired teacher Malcolm Treharne", "funded by a £95,000 grant from
    # the Arts Council"
    ("How many libraries will have shorter opening hours?", "seven of its eleven", "seven"),
    ("How many people answered the consultation?", "3,418 responses", "3,418"),
    ("Who chairs the Friends of Ferncastle Libraries?", "Malcolm Treharne", "Treharne"),
    ("How is the mobile library paid for?", "grant from the Arts Council", "Arts Council"),
    ("What did the petition's organisers do before retiring?", "retired teacher", "teacher"),
]

#: On the documents' topics, but the documents never give the answer.
ABSENT = [
    "How many jobs will be cut after the merger?",
    "How much does it cost to park at Hollin Vale?",
    "Who was Wrenfield General's previous chief executive?",
    "Who will be the permanent site manager at Brackley Park?",
    "How much will the electric forklifts cost?",
    "How many storm petrels nest on Skarholm?",
    "Who will replace Martin Sauer as the harbour trust's chief executive?",
    "What did the dredging at Kilbride cost?",
    "What was the library budget in 2019?",
    "How many staff work in Ferncastle's libraries?",
]

#: Nothing to do with the documents.
OFF_TOPIC = ["What is the capital of Peru?", "Who wrote the novel Middlemarch?"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The five documents in the default collection; the hospitals alone in "a", the
    warehouse memo alone in "b"."""
    a = Assistant(Settings(data_dir=tmp_path_factory.mktemp("reader") / "data", answerer="reader"))
    assert a.ingest([HOSPITALS, WAREHOUSE, SEABIRDS, HARBOUR, LIBRARIES]).ok
    assert a.ingest([HOSPITALS], collection="a").ok
    assert a.ingest([WAREHOUSE], collection="b").ok
    return a


def assert_verbatim(a: Assistant, answer: Answer, collection: str | None = None) -> None:
    """Every quote, and the short answer, is the cited document's text at its offsets."""
    for c in answer.citations:
        doc = a.document(c.doc_id, collection)
        assert doc is not None and doc.text[c.start : c.end] == c.quote, c
    assert answer.short is not None and answer.short_citation is not None, answer.text
    cited = answer.citations[answer.short_citation - 1]
    assert answer.short in cited.quote, (answer.short, cited.quote)
    doc = a.document(cited.doc_id, collection)
    assert doc is not None and doc.text[answer.short_start : answer.short_end] == answer.short


def assert_answered(a: Assistant, question: str, sentence: str, short: str) -> None:
    answer = a.ask(question)
    assert not answer.abstained, f"{question!r} abstained: {answer.text!r}"
    quotes = [c.quote for c in answer.citations]
    assert any(sentence in q for q in quotes), f"{question!r} cited {quotes}"
    assert answer.short and short in answer.short, f"{question!r}: short {answer.short!r}"
    assert_verbatim(a, answer)


def assert_abstains(answer: Answer) -> None:
    assert answer.abstained, f"{answer.question!r} answered: {answer.text!r} ({answer.short!r})"
    assert answer.text.startswith(NOT_FOUND), answer.text
    assert answer.citations == [] and answer.short is None
    assert answer.related, "an abstention shows the passages that came closest"


@pytest.mark.parametrize(("question", "sentence", "short"), FACTUAL)
def test_factual_question_is_answered_from_its_sentence(
    loaded: Assistant, question: str, sentence: str, short: str
) -> None:
    """A who/which/where/when/how much/how many question cites its sentence and gives its span."""
    assert_answered(loaded, question, sentence, short)


@pytest.mark.parametrize(("question", "sentence", "short"), PARAPHRASED)
def test_question_in_other_words_is_answered_from_its_sentence(
    loaded: Assistant, question: str, sentence: str, short: str
) -> None:
    """A question that does not share the text's words still finds its sentence and span."""
    assert_answered(loaded, question, sentence, short)


@pytest.mark.parametrize("question", ABSENT)
def test_question_the_documents_leave_open_abstains(loaded: Assistant, question: str) -> None:
    """On-topic questions whose answer the documents never give abstain with related passages."""
    assert_abstains(loaded.ask(question))


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_question_abstains(loaded: Assistant, question: str) -> None:
    """Questions about nothing in the documents abstain with related passages."""
    assert_abstains(loaded.ask(question))


def test_a_collection_is_never_answered_from_another(loaded: Assistant) -> None:
    """A question asked in collection "b" never cites, nor offers, a document of collection "a"."""
    question = "Who chairs the North Ashcombe Health Board?"
    elsewhere = loaded.ask(question, collection="b")
    sources = [Path(c.source).name for c in elsewhere.citations]
    sources += [Path(p.source).name for p in elsewhere.related]
    assert HOSPITALS.name not in sources, elsewhere.text
    assert set(sources) <= {WAREHOUSE.name}, sources

    home = loaded.ask(question, collection="a")
    assert not home.abstained, home.text
    assert {Path(c.source).name for c in home.citations} == {HOSPITALS.name}
    assert home.short and "Achterberg" in home.short, home.short
    assert_verbatim(loaded, home, "a")
