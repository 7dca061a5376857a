"""Cited answers from the test news article with the offline answerer: right sentence, exact
quote."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.answer import CITATION_FIELDS, NOT_FOUND, CitationEvent, Done, TextDelta
from assistant.core import Assistant
from assistant.errors import QuestionError
from assistant.settings import Settings


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    from tests.conftest import ARTICLE

    a = Assistant(Settings(data_dir=tmp_path_factory.mktemp("loaded") / "data"))
    a.ingest([ARTICLE])
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
        ("Who founded Kestrel?", "Priya Raman"),
        ("Which engines did Kestrel use?", "M40 engines"),
        ("How much did KX1 reportedly cost to develop?", "$18.5 million"),
        # "KX1" is a name, not a number: the sentence that says it costs less holds no figure.
        ("How much did KX1 cost?", "$18.5 million"),
        ("What did Helena Ward say about Kestrel?", "Kitty Hawk moment"),
        ("Who said that European export rules are ineffective?", "Lindqvist added"),
        ("What did Feld say about KX2's development costs?", "historical trends"),
        ("How big is Brandt's Skyway project?", "$40 billion"),
        ("Where is Kestrel based?", "Pune"),
    ],
)
def test_factual_questions(loaded: Assistant, question: str, expected: str) -> None:
    answer = loaded.ask(question)
    assert not answer.abstained, answer.text
    # The answering sentence is cited (it may follow the sentence its "This..." leans on).
    assert any(expected in c.quote for c in answer.citations[:2]), answer.text
    _check_citations(loaded, answer)
    assert len(answer.citations) <= 3


def test_what_is_question_is_not_answered_with_a_quote_about_something_else(
    loaded: Assistant,
) -> None:
    answer = loaded.ask("What is Kestrel?")
    assert not answer.abstained, answer.text
    # Feld's quote on KX2's costs names Kestrel but does not say what it is; the answer leads
    # with a sentence that does (a start-up; a company based in Pune with the KX1 rocket).
    first = answer.citations[0].quote
    assert "historical trends" not in first, answer.text
    assert "start-up Kestrel Dynamics" in first or "Based in Pune" in first, answer.text


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Peru?",
        "Who is the chief executive of Nvidia?",
        "What is a good recipe for pancakes?",
    ],
)
def test_unanswerable_questions_abstain(loaded: Assistant, question: str) -> None:
    answer = loaded.ask(question)
    assert answer.abstained and answer.text.startswith(NOT_FOUND)
    assert answer.citations == [] and answer.related
    assert all(p.doc_id for p in answer.related)


def test_follow_up_question_uses_the_conversation(loaded: Assistant) -> None:
    first = loaded.ask("Who founded Kestrel?")
    history = [
        {"role": "user", "content": "Who founded Kestrel?"},
        {"role": "assistant", "content": first.text},
    ]
    follow = loaded.ask("What did she acknowledge?", history=history)
    assert not follow.abstained
    assert "ban on foreign engines" in follow.citations[0].quote
    assert "Priya Raman" in follow.search_query

    # A new question that names what it is about stands alone: the last turn's words
    # ("founded", "Priya Raman") are not searched with it.
    based = loaded.ask("Where is Kestrel based?", history=history)
    assert based.search_query == "Where is Kestrel based?" and "Pune" in based.text
    heim = loaded.ask("What did Feld say?", history=history)
    assert heim.search_query == "What did Feld say?"
    also = loaded.ask("And the engines?", history=history)  # leans on the last turn
    assert "Priya Raman" in also.search_query


def test_stream_yields_text_citations_then_the_answer(loaded: Assistant) -> None:
    events = list(loaded.stream("How much did KX1 reportedly cost to develop?"))
    assert isinstance(events[-1], Done)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == events[-1].answer.text
    cited = [e.citation for e in events if isinstance(e, CitationEvent)]
    assert cited == events[-1].answer.citations


def test_answer_as_json_fields(loaded: Assistant) -> None:
    data = loaded.ask("Where is Kestrel based?").to_dict()
    assert {"text", "abstained", "citations", "related", "timings"} <= set(data)
    assert set(CITATION_FIELDS) <= set(data["citations"][0])
    assert data["timings"]["total_ms"] > 0


@pytest.mark.parametrize("bad", ["", "   \n\t ", "x" * 5000])
def test_bad_questions_get_a_clear_error(loaded: Assistant, bad: str) -> None:
    with pytest.raises(QuestionError):
        loaded.ask(bad)


def test_empty_collection_abstains(tmp_path: Path) -> None:
    a = Assistant(Settings(data_dir=tmp_path / "data"))
    answer = a.ask("Who founded Kestrel?")
    assert answer.abstained and answer.related == []


def test_langchain_components(loaded: Assistant) -> None:
    from langchain_core.runnables import RunnableLambda

    answer = loaded.chain.invoke({"question": "Where is Kestrel based?"})
    assert "Pune" in answer.citations[0].quote
    # composes with other LangChain runnables
    pipeline = RunnableLambda(lambda topic: f"Where is {topic} based?") | loaded.chain
    assert "Pune" in pipeline.invoke("Kestrel").text
    docs = loaded.as_retriever(k=2).invoke("Kitty Hawk moment")
    assert len(docs) == 2 and "Kitty Hawk" in docs[0].page_content
    assert {"doc_id", "title", "location", "start", "end"} <= set(docs[0].metadata)


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("Who founded Kestrel?", "Priya Raman"),
        ("Which engines did Kestrel use?", "M40 engines"),
        ("How much did KX1 reportedly cost to develop?", "$18.5 million"),
        ("How big is Brandt's Skyway project?", "$40 billion"),
        ("Where is Kestrel based?", "Pune"),
    ],
)
def test_short_answer_is_words_of_a_cited_quote(
    loaded: Assistant, question: str, short: str
) -> None:
    answer = loaded.ask(question)
    assert answer.short == short, answer.text
    cite = answer.citations[answer.short_citation - 1]
    doc = loaded.document(cite.doc_id)
    assert doc is not None and doc.text[answer.short_start : answer.short_end] == short
    assert cite.start <= answer.short_start < answer.short_end <= cite.end
    assert answer.to_dict()["short"] == short


def test_short_answer_only_when_a_thing_is_answered(loaded: Assistant) -> None:
    refused = loaded.ask("What is the capital of Peru?")
    assert refused.abstained and refused.short is None and refused.short_citation is None
    why = loaded.ask("Why did Kestrel's engineers design lighter rockets?")
    assert why.short is None and why.to_dict()["short"] is None
    done = [e for e in loaded.stream("Where is Kestrel based?") if isinstance(e, Done)]
    assert done[0].answer.short == "Pune"


def test_short_answer_of_a_chat_model_answer(tmp_path: Path) -> None:
    from tests.conftest import ARTICLE
    from tests.fake_llm import FakeChatServer

    rules = [("Who founded Kestrel?", "Kestrel was founded by Priya Raman {cite:Priya Raman}.")]
    with FakeChatServer(rules) as fake:
        a = Assistant(
            Settings(
                data_dir=tmp_path / "data", llm="fake-model", llm_base_url=fake.url, llm_api_key="k"
            )
        )
        a.ingest([ARTICLE])
        answer = a.ask("Who founded Kestrel?")
    # Taken from the cited quote (the source's words), not from the model's sentence.
    assert answer.short == "Priya Raman" and answer.short_citation == 1
    doc = a.document(answer.citations[0].doc_id)
    assert doc is not None and doc.text[answer.short_start : answer.short_end] == "Priya Raman"
