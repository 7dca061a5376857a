"""Cited answers from the seed article with the offline answerer: right sentence, exact quote."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer import CITATION_FIELDS, NOT_FOUND, CitationEvent, Done, TextDelta
from assistant.core import Assistant
from assistant.responder import QuestionError
from assistant.settings import Settings


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    from tests.conftest import SEED

    a = Assistant(Settings(data_dir=tmp_path_factory.mktemp("seeded") / "data"))
    a.ingest([SEED])
    return a


def _check_citations(a: Assistant, answer) -> None:
    assert answer.citations, answer.text
    for c in answer.citations:
        doc = a.document(c.doc_id)
        assert doc is not None and doc.text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text and c.location.startswith("paragraph")
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who founded DeepSeek?", "Liang Wenfeng"),
        ("Which chips did DeepSeek use?", "H800 chips"),
        ("How much did R1 reportedly cost to develop?", "$5.6 million"),
        # "R1" is a name, not a number: the sentence that says it costs less holds no figure.
        ("How much did R1 cost?", "$5.6 million"),
        ("What did Marc Andreessen say about DeepSeek?", "Sputnik moment"),
        ("Who said that US export controls are ineffective?", "Ding added"),
        ("What did Lennart Heim say about training costs?", "historical trends"),
        ("How big is Trump's Stargate project?", "$500 billion"),
        ("Where is DeepSeek based?", "Hangzhou"),
    ],
)
def test_factual_questions(seeded: Assistant, question: str, expected: str) -> None:
    answer = seeded.ask(question)
    assert not answer.abstained, answer.text
    # The answering sentence is cited (it may follow the sentence its "This..." leans on).
    assert any(expected in c.quote for c in answer.citations[:2]), answer.text
    _check_citations(seeded, answer)
    assert len(answer.citations) <= 3


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Peru?",
        "Who is the chief executive of Nvidia?",
        "What is a good recipe for pancakes?",
    ],
)
def test_unanswerable_questions_abstain(seeded: Assistant, question: str) -> None:
    answer = seeded.ask(question)
    assert answer.abstained and answer.text.startswith(NOT_FOUND)
    assert answer.citations == [] and answer.related
    assert all(p.doc_id for p in answer.related)


def test_follow_up_question_uses_the_conversation(seeded: Assistant) -> None:
    first = seeded.ask("Who founded DeepSeek?")
    history = [
        {"role": "user", "content": "Who founded DeepSeek?"},
        {"role": "assistant", "content": first.text},
    ]
    follow = seeded.ask("What did he acknowledge?", history=history)
    assert not follow.abstained
    assert "embargo on advanced chips" in follow.citations[0].quote
    assert "Liang Wenfeng" in follow.search_query

    # A new question that names what it is about stands alone: the last turn's words
    # ("founded", "Liang Wenfeng") are not searched with it.
    based = seeded.ask("Where is DeepSeek based?", history=history)
    assert based.search_query == "Where is DeepSeek based?" and "Hangzhou" in based.text
    heim = seeded.ask("What did Heim say?", history=history)
    assert heim.search_query == "What did Heim say?"
    also = seeded.ask("And the chips?", history=history)  # leans on the last turn
    assert "Liang Wenfeng" in also.search_query


def test_stream_yields_text_citations_then_the_answer(seeded: Assistant) -> None:
    events = list(seeded.stream("How much did R1 reportedly cost to develop?"))
    assert isinstance(events[-1], Done)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == events[-1].answer.text
    cited = [e.citation for e in events if isinstance(e, CitationEvent)]
    assert cited == events[-1].answer.citations


def test_answer_as_json_fields(seeded: Assistant) -> None:
    data = seeded.ask("Where is DeepSeek based?").to_dict()
    assert {"text", "abstained", "citations", "related", "timings"} <= set(data)
    assert set(CITATION_FIELDS) <= set(data["citations"][0])
    assert data["timings"]["total_ms"] > 0


@pytest.mark.parametrize("bad", ["", "   \n\t ", "x" * 5000])
def test_bad_questions_get_a_clear_error(seeded: Assistant, bad: str) -> None:
    with pytest.raises(QuestionError):
        seeded.ask(bad)


def test_empty_collection_abstains(tmp_path: Path) -> None:
    a = Assistant(Settings(data_dir=tmp_path / "data"))
    answer = a.ask("Who founded DeepSeek?")
    assert answer.abstained and answer.related == []


def test_langchain_components(seeded: Assistant) -> None:
    from langchain_core.runnables import RunnableLambda

    answer = seeded.chain.invoke({"question": "Where is DeepSeek based?"})
    assert "Hangzhou" in answer.citations[0].quote
    # composes with other LangChain runnables
    pipeline = RunnableLambda(lambda topic: f"Where is {topic} based?") | seeded.chain
    assert "Hangzhou" in pipeline.invoke("DeepSeek").text
    docs = seeded.as_retriever(k=2).invoke("Sputnik moment")
    assert len(docs) == 2 and "Sputnik" in docs[0].page_content
    assert {"doc_id", "title", "location", "start", "end"} <= set(docs[0].metadata)
