"""One factual question about the warehouse memo (tests/data/fennick-warehouse-memo.txt) gets
the same short answer in every face: Python, ``brief ask --json``, ``POST /api/v1/ask`` and its
stream, the OpenAI-compatible endpoint and the MCP ``ask`` tool. One real server for the module,
a real store, the shipped reader.

Pending (issue 23): asked of the learned reader (``BRIEF_ANSWERER=reader``, set for the whole
module, servers included). The answerer that is still the default abstains on this question.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.answering.answer import Answer
from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import DATA, run_brief, served
from tests.e2e.test_api import events_of

os.environ["BRIEF_ANSWERER"] = "reader"  # before any Settings or server of this module
from tests.e2e.test_mcp import http_client, run

WAREHOUSE = DATA / "fennick-warehouse-memo.txt"
QUESTION = "Where is Fennick's new warehouse?"
#: What the short answer must hold, in every face.
EXPECTED = "Brackley Park"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose default collection holds the warehouse memo."""
    folder = tmp_path_factory.mktemp("faces") / "data"
    assert Assistant(Settings(data_dir=folder)).ingest([WAREHOUSE]).ok
    return folder


@pytest.fixture(scope="module")
def python(data: Path) -> Answer:
    """The answer as a Python user gets it: ``Assistant.ask``."""
    return Assistant(Settings(data_dir=data)).ask(QUESTION)


@pytest.fixture(scope="module")
def api(data: Path) -> Iterator[httpx.Client]:
    """The API server, with MCP at /mcp (no keys: loopback only, every tool)."""
    with served(Assistant(Settings(data_dir=data, mcp=True))) as client:
        yield client


def test_python_gives_the_short_answer(python: Answer) -> None:
    """``Assistant.ask`` gives the short answer, cut from its cited quote."""
    assert not python.abstained, python.text
    assert python.short and EXPECTED in python.short, python.short
    assert python.short in python.citations[python.short_citation - 1].quote


def test_cli_json_gives_the_same_short_answer(data: Path, python: Answer) -> None:
    """``brief ask --json`` carries the same short answer and offsets."""
    out = run_brief("ask", QUESTION, "--json", data_dir=data)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert {k: answer[k] for k in python.short_fields()} == python.short_fields()


def test_http_ask_and_stream_give_the_same_short_answer(api: httpx.Client, python: Answer) -> None:
    """``POST /api/v1/ask`` and the ``done`` event of its stream carry the same short answer."""
    asked = api.post("/api/v1/ask", json={"question": QUESTION})
    assert asked.status_code == 200, asked.text
    assert asked.json()["short"] == python.short
    assert asked.json()["short_start"] == python.short_start

    streamed = api.post("/api/v1/ask/stream", json={"question": QUESTION})
    kind, done = events_of(streamed.text)[-1]
    assert kind == "done" and done["short"] == python.short


def test_openai_endpoint_gives_the_same_short_answer(api: httpx.Client, python: Answer) -> None:
    """``POST /v1/chat/completions`` carries the same short answer beside its content."""
    chat = {"model": "default", "messages": [{"role": "user", "content": QUESTION}]}
    reply = api.post("/v1/chat/completions", json=chat)
    assert reply.status_code == 200, reply.text
    assert reply.json()["short"] == python.short


def test_mcp_ask_gives_the_same_short_answer(api: httpx.Client, python: Answer) -> None:
    """The MCP ``ask`` tool, over streamable HTTP, carries the same short answer."""
    url = f"{str(api.base_url).rstrip('/')}/mcp"

    async def session() -> dict[str, Any]:
        async with http_client(url, None) as client:
            result = await client.call_tool("ask", {"question": QUESTION})
            assert not result.is_error, result.content
            return result.structured_content

    assert run(session)["short"] == python.short
