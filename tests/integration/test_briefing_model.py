"""Briefings written by a chat model (map-reduce), against an OpenAI-compatible server of our own
on 127.0.0.1: every sentence it writes is checked against its sources, made-up ones dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.errors import ModelUnavailable
from assistant.settings import Settings
from tests.conftest import ARTICLE, SAMPLES, free_port
from tests.fake_llm import FakeChatServer

RULES = [
    # The reduce call lists notes; it must come first, as the notes quote the documents.
    (
        "Notes (data to read",
        "- European export restrictions appear to have inadvertently fueled the rise of Kestrel "
        "{cite:inadvertently fueled}.\n"
        "- Dock workers at Port Calder returned to work after a nine-day strike "
        "{cite:returned to work}.\n"
        "- The strike was settled by the United Nations {cite:returned to work}.\n"
        "? Whether the full costs of Kestrel were disclosed is open {cite:fully disclosed}.",
    ),
    (
        "Tobias Lindqvist",
        "- Tight European export restrictions on rocket engines appear to have inadvertently "
        "fueled the rise of Kestrel {cite:Tight European export}.\n"
        "- Kestrel’s KX1 rocket was reportedly developed for just $18.5 million "
        "{cite:$18.5 million}.\n"
        "- Kestrel tested its rocket on the moon with 9,000 astronauts "
        "{cite:Tight European export}.\n"
        "? Feld noted that the full costs might not be fully disclosed {cite:fully disclosed}.",
    ),
    (
        "Port Calder",
        "- Dock workers at Port Calder returned to work after a nine-day strike "
        "{cite:returned to work}.",
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer(RULES) as fake:
        yield fake


def _assistant(data: Path, url: str) -> Assistant:
    return Assistant(
        Settings(data_dir=data, llm="fake-model", llm_base_url=url, llm_api_key="test-key")
    )


@pytest.fixture(scope="module")
def with_model(server: FakeChatServer, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    a = _assistant(tmp_path_factory.mktemp("brief-llm") / "data", server.url)
    a.ingest([ARTICLE], collection="launch")
    a.ingest([ARTICLE, SAMPLES])
    return a


def _check_citations(a: Assistant, briefing, collection: str) -> None:
    for c in briefing.citations:
        doc = a.document(c.doc_id, collection=collection)
        assert doc.text[c.start : c.end] == c.quote


def test_one_document_map_only(with_model: Assistant, server: FakeChatServer) -> None:
    before = len(server.requests)
    briefing = with_model.brief(collection="launch")
    calls = server.requests[before:]
    assert len(calls) == 1  # one document, one map call, nothing to reduce
    assert briefing.written_by == "fake-model"
    texts = [p.text for p in briefing.key_points]
    assert any("$18.5 million" in t for t in texts)
    # The invented sentence cites a real passage that does not support it: dropped.
    assert not any("moon" in t for t in texts)
    by_n = {c.n: c for c in briefing.citations}
    cost = next(p for p in briefing.key_points if "$18.5 million" in p.text)
    assert "$18.5 million" in by_n[cost.citations[0]].quote
    assert any("fully disclosed" in q.text for q in briefing.open_questions)
    # The structured sections are still read off the sources.
    assert "Tobias Lindqvist" in {s.speaker for s in briefing.who_said_what}
    _check_citations(with_model, briefing, "launch")


def test_several_documents_map_then_reduce(with_model: Assistant, server: FakeChatServer) -> None:
    before = len(server.requests)
    briefing = with_model.brief()
    calls = server.requests[before:]
    reduce = [c for c in calls if "Notes (data to read" in c["messages"][-1]["content"]]
    assert len(reduce) == 1 and len(calls) == 5  # four documents mapped, one reduce
    texts = " ".join(p.text for p in briefing.key_points)
    assert "Port Calder" in texts and "inadvertently fueled" in texts
    assert "United Nations" not in texts  # unsupported by the notes it cites: dropped
    assert any("full costs" in q.text for q in briefing.open_questions)
    _check_citations(with_model, briefing, "default")


def test_focus_reaches_the_model(with_model: Assistant, server: FakeChatServer) -> None:
    before = len(server.requests)
    with_model.brief(focus="the dock strike")
    calls = server.requests[before:]
    assert calls and all("about the dock strike" in c["messages"][0]["content"] for c in calls)
    assert len(calls) < 5  # documents with nothing on the focus are not sent


def test_model_down_is_a_clear_error(tmp_path: Path) -> None:
    a = _assistant(tmp_path / "data", f"http://127.0.0.1:{free_port()}/v1")
    a.ingest([ARTICLE])
    with pytest.raises(ModelUnavailable):
        a.brief()
