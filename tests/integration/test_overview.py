"""Overview questions ("What are the main points?", "What is the depot memo about?") answered
from the key points of the collection or of the documents they name: cited, never abstained on
while the collection has documents; fact questions that contain "about" or "main" keep their
usual answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.answer import NOT_FOUND, Answer, CitationEvent, Done, TextDelta
from assistant.answering.question import overview_target
from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, MEMO, SAMPLES, served
from tests.fake_llm import FakeChatServer


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    a = Assistant(Settings(data_dir=tmp_path_factory.mktemp("overview") / "data"))
    assert a.ingest([ARTICLE, MEMO, SAMPLES]).ok
    return a


def _file(a: Assistant, doc_id: str) -> str:
    doc = a.document(doc_id)
    assert doc is not None
    return Path(doc.source).name


def _check_cited(a: Assistant, answer: Answer) -> None:
    """Not abstained; every quote is its document's own text at its offsets; markers [n] in
    the text, numbered 1..n in order of first use."""
    assert not answer.abstained and not answer.text.startswith(NOT_FOUND), answer.text
    assert len(answer.citations) >= 3, answer.text
    for c in answer.citations:
        doc = a.document(c.doc_id)
        assert doc is not None and doc.text[c.start : c.end] == c.quote
        assert c.quote in answer.text
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    positions = [answer.text.index(f"[{c.n}]") for c in answer.citations]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    "question",
    [
        "What are the main points?",
        "Summarise this",
        "Summarize the documents",
        "What is this collection about?",
        "Give me an overview",
        "Can you give me a short summary of these documents, please?",
    ],
)
def test_collection_overview_is_cited_from_every_document(loaded: Assistant, question: str) -> None:
    answer = loaded.ask(question)
    _check_cited(loaded, answer)
    # Five documents of five subjects: the overview is not one document's.
    assert len({c.doc_id for c in answer.citations}) == 5, answer.text


def test_collection_overview_quotes_the_briefings_key_points(loaded: Assistant) -> None:
    briefing = loaded.brief()
    key = {
        (c.doc_id, c.start, c.end)
        for p in briefing.key_points
        for c in briefing.citations
        if c.n in p.citations
    }
    answer = loaded.ask("What are the main points?")
    assert {(c.doc_id, c.start, c.end) for c in answer.citations} == key


@pytest.mark.parametrize(
    ("question", "file", "says"),
    [
        ("What is the depot memo about?", "depot-memo.txt", "Miller Road"),
        ("What are the key points of the harbour strike article?", "harbour-strike.md", "strike"),
        ("Give me an overview of the Kestrel article", "kestrel-launch.txt", "Kestrel"),
        ("Summarise the battery recycling briefing", "battery-recycling-brief.md", "recycling"),
        ("What does the water tariff memo say?", "water-rates-memo.md", "households"),
    ],
)
def test_a_named_document_is_the_only_one_cited(
    loaded: Assistant, question: str, file: str, says: str
) -> None:
    answer = loaded.ask(question)
    _check_cited(loaded, answer)
    assert {_file(loaded, c.doc_id) for c in answer.citations} == {file}, answer.text
    assert says in answer.text


def test_two_named_documents_and_a_kind_of_document(loaded: Assistant) -> None:
    both = loaded.ask("Summarise the depot memo and the Kestrel article")
    _check_cited(loaded, both)
    assert {_file(loaded, c.doc_id) for c in both.citations} == {
        "depot-memo.txt",
        "kestrel-launch.txt",
    }
    memos = loaded.ask("Give me an overview of the memos")
    _check_cited(loaded, memos)
    assert {_file(loaded, c.doc_id) for c in memos.citations} == {
        "depot-memo.txt",
        "water-rates-memo.md",
    }


def test_filters_narrow_the_overview(loaded: Assistant) -> None:
    memo = next(d for d in loaded.documents() if Path(d.source).name == "depot-memo.txt")
    answer = loaded.ask("What are the main points?", filters={"doc_id": memo.doc_id})
    _check_cited(loaded, answer)
    assert {c.doc_id for c in answer.citations} == {memo.doc_id}


def test_overview_streams_like_an_answer(loaded: Assistant) -> None:
    events = list(loaded.stream("What is the depot memo about?"))
    assert isinstance(events[-1], Done)
    answer = events[-1].answer
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer.text
    sent = [e.citation.n for e in events if isinstance(e, CitationEvent)]
    assert sent == [c.n for c in answer.citations]
    # Each citation follows the text that carries its marker.
    for i, e in enumerate(events):
        if isinstance(e, CitationEvent):
            shown = "".join(x.text for x in events[:i] if isinstance(x, TextDelta))
            assert f"[{e.citation.n}]" in shown


@pytest.mark.parametrize(
    "question",
    [
        "What did Feld say about costs?",
        "What did Helena Ward say about Kestrel?",
        "What is the main engine Kestrel used?",
        "What was the strike about?",
        "What is Kestrel about?",
        "What are the main risks Feld raised?",
        "What does the memo say about the cost of the depot?",
        "Who wrote the depot memo?",
    ],
)
def test_fact_questions_with_about_or_main_are_not_overviews(
    loaded: Assistant, question: str
) -> None:
    assert overview_target(question) is None
    overview = loaded.ask("What are the main points?")
    answer = loaded.ask(question)
    assert answer.text != overview.text
    assert "overview_ms" not in answer.timings
    assert len(answer.citations) <= 3


def test_fact_questions_keep_their_answer(loaded: Assistant) -> None:
    answer = loaded.ask("What did Feld say about KX2's development costs?")
    assert any("historical trends" in c.quote for c in answer.citations), answer.text


def test_a_document_that_is_not_there_takes_the_usual_path(loaded: Assistant) -> None:
    answer = loaded.ask("Summarise the pension fund report")
    assert "overview_ms" not in answer.timings


def test_empty_collection_abstains(assistant: Assistant) -> None:
    for question in ("What are the main points?", "What is the depot memo about?"):
        answer = assistant.ask(question)
        assert answer.abstained and answer.text.startswith(NOT_FOUND)
        assert answer.citations == []


def test_overview_with_a_chat_model_uses_the_key_points(tmp_path: Path) -> None:
    with FakeChatServer([("depot", "The memo is about buses [1].")]) as server:
        a = Assistant(
            Settings(
                data_dir=tmp_path / "data",
                llm="fake-model",
                llm_base_url=server.url,
                llm_api_key="test-key",
            )
        )
        assert a.ingest([MEMO]).ok
        answer = a.ask("What is the depot memo about?")
        _check_cited(a, answer)
        assert "Miller Road" in answer.text
        assert server.requests == []


def test_overview_through_the_http_api(loaded: Assistant) -> None:
    with served(loaded) as client:
        r = client.post("/api/v1/ask", json={"question": "What is the depot memo about?"})
        assert r.status_code == 200
        data = r.json()
    assert not data["abstained"] and len(data["citations"]) >= 3
    memo = MEMO.read_text()
    for c in data["citations"]:
        assert f"[{c['n']}]" in data["text"]
        assert c["title"] == "Memo: Replacing the Eastfield bus depot"
        # The quote is the memo's own words (spacing aside: cleaning joins lines).
        assert " ".join(c["quote"].split()) in " ".join(memo.split())
