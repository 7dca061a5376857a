"""Real chat models' replies, replayed (issue 25): what Qwen2.5-Coder-0.5B and SmolLM2-135M
wrote when asked about our documents through llama.cpp's server (``bench/llm.py`` recorded
them in ``tests/data/model_replies/``), sent back by the stand-in server at the network edge.

The collection is the five documents of ``tests/data``, as when they were recorded, so the
passages the replies answered are the ones retrieved here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import DATA, openai_stream, run_brief, served
from tests.fake_llm import FakeChatServer

REPLIES = DATA / "model_replies"
#: The documents the replies were recorded on (``model_replies/documents.txt``), not every
#: document ``tests/data`` holds now: another document would change the passages retrieved.
DOCUMENTS = [DATA / name for name in (REPLIES / "documents.txt").read_text().split()]


def recorded(model: str) -> dict[str, str]:
    """Question -> the model's raw reply."""
    rows = [json.loads(line) for line in (REPLIES / f"{model}.jsonl").read_text().splitlines()]
    return {row["question"]: row["reply"] for row in rows}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """One store of the five documents, shared by the models' assistants."""
    data = tmp_path_factory.mktemp("real-replies") / "data"
    a = Assistant(Settings(data_dir=data))
    assert a.ingest(DOCUMENTS).ok
    yield Settings(data_dir=data)


def replaying(model: str, store: Settings) -> Iterator[Assistant]:
    """An assistant whose chat model sends ``model``'s recorded replies."""
    with FakeChatServer(list(recorded(model).items())) as fake:
        yield Assistant(store.model_copy(update={"llm": model, "llm_base_url": fake.url}))


@pytest.fixture(scope="module")
def qwen(store: Settings) -> Iterator[Assistant]:
    yield from replaying("qwen", store)


@pytest.fixture(scope="module")
def smollm2(store: Settings) -> Iterator[Assistant]:
    yield from replaying("smollm2", store)


#: Qwen's replies to questions our documents cannot answer, each inventing or guessing.
INVENTED = {
    "What was Kestrel's revenue in 2024?": "revenue in 2024 was",
    "How many employees does Kestrel have?": "1",
    "What is the capital of France?": "Paris",
    "When will the KX2 rocket make its first flight?": "first flight in 2030",
    "How many jobs will the hospital trust cut after 2029?": "cut 2,300 jobs",
    "Who will be the permanent manager of the Brackley Park site?": "permanent manager of",
    "How much is Fennick's relocation allowance?": "allowance is",
    "How many storm petrels nest on Skarholm?": "storm petrels nest",
}


@pytest.mark.parametrize("question", sorted(INVENTED))
def test_a_real_reply_the_documents_do_not_back_is_the_abstention(
    qwen: Assistant, question: str
) -> None:
    reply = recorded("qwen")[question]
    assert INVENTED[question] in reply  # what the model really wrote
    answer = qwen.ask(question)
    assert answer.abstained and answer.short is None
    assert answer.text.startswith("The documents don't say")
    assert INVENTED[question] not in answer.text.replace("The documents don't say", "")
    # what it wrote is reported, with why it was left out
    assert [d.reason for d in answer.dropped] in (["unsupported"], ["no_content"])
    assert answer.dropped[0].text in reply


#: Qwen's bare answers, and the short answer each must give: the words it said, quoted.
BARE = {
    "Where is Kestrel based?": "Pune",
    "How many beds does Hollin Vale Community Hospital have?": "180 beds",
    "Which firm will carry out the warehouse move?": "Pellworth Removals",
    "How many warehouse staff does Fennick have?": "46",
    "How many occupied puffin burrows did the Skarholm survey find?": "3,240",
}


@pytest.mark.parametrize("question", sorted(BARE))
def test_a_real_bare_answer_the_documents_back_is_kept_with_its_quote(
    qwen: Assistant, question: str
) -> None:
    said = BARE[question]
    assert recorded("qwen")[question] == said
    answer = qwen.ask(question)
    assert not answer.abstained and answer.text == f"{said} [1]"
    [citation] = answer.citations
    assert said in citation.quote
    # the short answer is what the model said, where the quote says it (never other words of
    # the quote: "14 miles" stands beside "180 beds" in it)
    assert answer.short == said
    assert (
        citation.quote[answer.short_start - citation.start : answer.short_end - citation.start]
        == said
    )


def test_the_short_answer_of_a_real_sentence_is_words_it_says(
    qwen: Assistant,
) -> None:
    # The quote of this sentence also names Marit Solberg, who led the fieldwork: the short
    # answer is the payer the model named.
    answer = qwen.ask("Who paid for the Skarholm seabird survey?")
    assert answer.short == "Coastal Heritage Fund" and answer.short in answer.sentences[0].text


def test_a_real_invented_reply_never_reaches_a_stream(
    qwen: Assistant,
) -> None:
    question = "What was Kestrel's revenue in 2024?"
    with served(qwen) as api:
        r = api.post("/api/v1/ask/stream", json={"question": question})
        assert "revenue in 2024 was" not in r.text.split('"dropped"')[0]
        streamed, chunks = openai_stream(api, question)
        assert streamed.startswith("The documents don't say") and "2024 was" not in streamed
        assert chunks[-1]["abstained"] is True
        assert [d["reason"] for d in chunks[-1]["dropped"]] == ["unsupported"]


def test_a_quote_put_in_the_wrong_mouth_is_dropped(store: Settings) -> None:
    # Not recorded: Qwen attributed its quotes rightly on these questions. Brandt called it a
    # wake-up call; Marcus Feld urged caution.
    rules = [
        (
            "What did Marcus Feld say?",
            "Marcus Feld called Kestrel's success a wake-up call for European industry. "
            "Feld said rockets have been getting cheaper to build over time.",
        )
    ]
    with FakeChatServer(rules) as fake:
        a = Assistant(store.model_copy(update={"llm": "fake", "llm_base_url": fake.url}))
        answer = a.ask("What did Marcus Feld say?")
    assert "wake-up call" not in answer.text
    assert "cheaper to build over time" in answer.text
    assert [d.reason for d in answer.dropped] == ["unsupported"]


def test_a_real_reply_that_echoes_the_prompt_shows_none_of_it(smollm2: Assistant) -> None:
    # SmolLM2 listed the passages' headers as the prompt shows them, numbered.
    question = "When will Brackley Park ship its first orders?"
    assert "(paragraph 4)" in recorded("smollm2")[question]
    answer = smollm2.ask(question)
    assert "(paragraph" not in answer.text and "1)" not in answer.text
    assert [d.reason for d in answer.dropped].count("echoed_prompt") == 4


def test_a_real_numbered_list_keeps_only_its_supported_items(smollm2: Assistant) -> None:
    question = "Which engines did Kestrel use for its first orbital rocket?"
    assert recorded("smollm2")[question].startswith("1. M40 engines")
    answer = smollm2.ask(question)
    assert answer.text.startswith("M40 engines [1]")
    assert "KF-B" not in answer.text and "Kent Aviation" not in answer.text  # invented
    reasons = [d.reason for d in answer.dropped]
    assert reasons.count("no_content") == 4 and reasons.count("unsupported") == 2  # "1." ...
    assert answer.short == "M40 engines"


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "When will the KX2 rocket make its first flight?"],
)
def test_a_real_sentence_from_outside_the_documents_is_the_abstention(
    smollm2: Assistant, question: str
) -> None:
    answer = smollm2.ask(question)
    assert answer.abstained and answer.dropped[0].text == recorded("smollm2")[question]


def test_a_real_reply_of_true_sentences_that_answer_nothing_asked_is_the_abstention(
    qwen: Assistant,
) -> None:
    # Qwen copied the paragraph on parking: every word is the document's, no price is.
    question = "How much will parking cost at Hollin Vale?"
    assert recorded("qwen")[question].startswith("Parking has become the other sore point.")
    answer = qwen.ask(question)
    assert answer.abstained
    assert [d.reason for d in answer.dropped][:1] == ["off_question"]
    # a sentence that answers is kept, and what follows it is checked for support alone
    kept = qwen.ask("When will the two valley hospitals become a single trust?")
    assert not kept.abstained and "1 April 2027" in kept.text


def test_brief_ask_says_what_it_left_out_of_a_real_reply_and_why(qwen: Assistant) -> None:
    env = {"BRIEF_LLM": "qwen", "BRIEF_LLM_BASE_URL": str(qwen.settings.llm_base_url)}
    data = qwen.settings.data_dir
    r = run_brief("ask", "How much will parking cost at Hollin Vale?", data_dir=data, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("The documents don't say")
    assert "2 sentence(s) of the chat model's reply left out (off_question" in r.stderr
