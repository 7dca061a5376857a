"""The chat model's part, at its edges (issue 25): the warm-up never asks it anything, and a
reply with no text is a model error in every face, never "the documents don't say"."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.errors import ModelError
from assistant.faces.web.chat import ChatApp
from assistant.settings import Settings
from tests.conftest import ARTICLE, openai_stream, served
from tests.fake_llm import FakeChatServer

RULES = [
    ("Who founded Kestrel?", "Kestrel was founded by Priya Raman {cite:Priya Raman}."),
    ("empty reply", ""),
    ("only markers", " [1] [2] "),
    (
        "How much did KX1 cost?",
        "KX1 was reportedly developed for just $18.5 million {cite:$18.5 million}. "
        "It was trained on the moon by 40,000 astronauts {cite:$18.5 million}. 1. 2.",
    ),
]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """An assistant whose chat model is a stand-in server with the rules above (its
    ``server`` attribute)."""
    with FakeChatServer(RULES) as fake:
        data = tmp_path_factory.mktemp("replies") / "data"
        a = Assistant(Settings(data_dir=data, llm="fake-model", llm_base_url=fake.url))
        assert a.ingest([ARTICLE]).ok
        a.server = fake  # type: ignore[attr-defined]
        yield a


def test_the_warm_up_loads_the_local_parts_and_asks_the_model_nothing(
    assistant: Assistant,
) -> None:
    server = assistant.server  # type: ignore[attr-defined]
    server.requests.clear()
    chat = ChatApp(assistant, samples=False)
    chat.warm_up()
    assert chat.ready.is_set() and chat.startup_error is None
    assert server.requests == []  # not one token spent before a user asks
    # the local parts are loaded: the embedding model has run
    assert "model" in vars(assistant.index.embedder)
    # and a real question still reaches the model
    answer = assistant.ask("Who founded Kestrel?")
    assert len(server.requests) == 1 and "Priya Raman" in answer.text


@pytest.mark.parametrize("question", ["empty reply, please", "only markers, please"])
def test_a_reply_without_text_is_a_model_error_not_an_abstention(
    assistant: Assistant, question: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(ModelError):
        assistant.ask(question)
    assert any("no text" in r.getMessage() for r in caplog.records)  # logged


def test_every_face_reports_an_empty_reply_as_a_model_error(
    assistant: Assistant, tmp_path: Path
) -> None:
    with served(assistant) as api:
        r = api.post("/api/v1/ask", json={"question": "empty reply, please"})
        assert r.status_code == 502
        assert r.json()["error"]["code"] == "model_error"
        assert "documents don" not in r.text
        r = api.post("/api/v1/ask/stream", json={"question": "empty reply, please"})
        assert r.status_code == 200  # the stream had begun
        last = r.text.strip().split("\n\n")[-1]
        assert last.startswith("event: error")
        assert json.loads(last.split("data: ", 1)[1])["code"] == "model_error"
        r = api.post(
            "/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": "empty reply?"}]},
        )
        assert r.status_code == 502 and r.json()["error"]["code"] == "model_error"
    # the chat says so in a line of its own
    chat = ChatApp(assistant, samples=False)
    shown = [text for text, _ in chat.respond("empty reply, please", [], "default")]
    assert shown[-1].startswith("*The chat model could not answer")
    assert "documents don" not in shown[-1]


def test_no_face_streams_a_sentence_before_it_is_verified(assistant: Assistant) -> None:
    kept = "KX1 was reportedly developed for just $18.5 million. [1]"
    question = "How much did KX1 cost?"
    with served(assistant) as api:
        r = api.post("/api/v1/ask/stream", json={"question": question})
        events = [block.split("\n", 1) for block in r.text.strip().split("\n\n")]
        deltas = [json.loads(d[len("data: ") :]) for e, d in events if e == "event: delta"]
        assert "".join(x["text"] for x in deltas) == kept  # the markers are in the deltas
        done = json.loads(events[-1][1][len("data: ") :])
        assert done["text"] == kept and [s["supported"] for s in done["sentences"]] == [True]
        assert [d["reason"] for d in done["dropped"]] == ["unsupported", "no_content", "no_content"]
        body = {"model": "default", "messages": [{"role": "user", "content": question}]}
        streamed, chunks = openai_stream(api, question)
        assert streamed == kept
        assert all("astronauts" not in c["choices"][0]["delta"].get("content", "") for c in chunks)
        last = chunks[-1]
        assert last["sentences"] == done["sentences"] and last["dropped"] == done["dropped"]
        whole = api.post("/v1/chat/completions", json=body).json()
        assert whole["choices"][0]["message"]["content"] == kept
        assert whole["sentences"] == done["sentences"] and whole["dropped"] == done["dropped"]
    # the chat shows only the kept sentence, while streaming too
    chat = ChatApp(assistant, samples=False)
    shown = [text for text, _ in chat.respond(question, [], "default")]
    assert shown and all("astronauts" not in text for text in shown)
    assert "18\\.5 million" in shown[-1]  # markdown escapes the full stop
