"""One byte size: the upload checks of the faces and ingest itself count ``max_file_mb`` in MiB.

A file between the limit in decimal megabytes (x 1,000,000) and in MiB (x 1,048,576) used to
pass the upload check and then fail ingest. Here every face takes such a file and ingest stores
it; a file one byte over the limit in MiB is refused by all of them, with a message that names
the limit.

The file is a saved web page: the memo's paragraphs and about a megabyte of inline style rules,
as a site builder writes them. The loader reads all of it but keeps the article only, so it
embeds in one chunk; a megabyte of plain text is some 1,400 chunks and about a minute of
embedding on two cores, for no more coverage of the size checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import MEMO, served

#: The limit under test, in MiB: ``max_file_mb=1`` allows 1,048,576 bytes.
LIMIT_MB = 1
#: Strictly between the limit in decimal bytes and in binary bytes.
BETWEEN = 1_024_000
#: One byte over the limit in binary bytes.
OVER = LIMIT_MB * 1_048_576 + 1
QUESTION = "How much would the new depot cost?"


def memo_page(size: int) -> bytes:
    """A web page of exactly ``size`` bytes: the test memo as an article, padded with inline
    style rules that the loader drops."""
    title, *paragraphs = [p.strip() for p in MEMO.read_text().split("\n\n") if p.strip()]
    article = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    head = f"<!doctype html>\n<html><head><title>{title}</title>\n<style>\n".encode()
    tail = f"</style></head>\n<body><article><h1>{title}</h1>\n{article}</article></body></html>\n"
    rule = b".council-nav li a { padding: 0.25rem 0.5rem; border-bottom: 1px solid #ccd; }\n"
    room = size - len(head) - len(tail.encode())
    assert room > 0
    padding = rule * (room // len(rule)) + b" " * (room % len(rule))
    page = head + padding + tail.encode()
    assert len(page) == size
    return page


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[tuple[Assistant, httpx.Client, object]]:
    """An Assistant whose file limit is 1 MiB, its HTTP API and its web chat, served together
    on a loopback port: (assistant, client, chat)."""
    from assistant.faces.web.page import make_app

    assistant = Assistant(Settings(data_dir=tmp_path / "data", max_file_mb=LIMIT_MB))
    app, chat = make_app(assistant, samples=False)
    with served(assistant, app) as client:
        yield assistant, client, chat


def test_the_byte_limits_count_in_mib() -> None:
    settings = Settings(max_file_mb=LIMIT_MB, max_unzipped_mb=2.5)
    assert settings.max_file_bytes == 1_048_576
    assert settings.max_unzipped_bytes == 2_621_440
    assert 1_000_000 * LIMIT_MB < BETWEEN < settings.max_file_bytes < OVER


def test_a_file_between_a_megabyte_and_a_mib_is_taken_by_every_face(
    small_limit: tuple[Assistant, httpx.Client, object], tmp_path: Path
) -> None:
    assistant, client, chat = small_limit
    page = memo_page(BETWEEN)

    # The HTTP API: its upload check lets the file through and ingest stores it.
    sent = client.post("/api/v1/documents", files=[("files", ("depot.html", page, "text/html"))])
    assert sent.status_code == 200, sent.text
    [result] = sent.json()["results"]
    assert result["status"] == "ingested" and result["chunks"] >= 1, result
    answer = assistant.ask(QUESTION)
    assert not answer.abstained
    assert any("38 million pounds" in c.quote for c in answer.citations)

    # The web chat: Gradio's upload check takes it, and the chat's ingest of it succeeds.
    taken = client.post("/gradio_api/upload", files=[("files", ("depot.html", page, "text/html"))])
    assert taken.status_code == 200, taken.text
    saved = tmp_path / "chat" / "depot-chat.html"
    saved.parent.mkdir()
    saved.write_bytes(page)
    results, *_ = chat.upload([str(saved)], "", "chat")
    assert [row[1] for row in results] == ["ingested"], results

    # The pipeline called directly, as ``brief ingest`` and Python code do.
    report = assistant.ingest([saved], collection="direct")
    assert report.ok and report.count("ingested") == 1, report.results


def test_a_file_one_byte_over_a_mib_is_refused_by_every_face(
    small_limit: tuple[Assistant, httpx.Client, object], tmp_path: Path
) -> None:
    assistant, client, _ = small_limit
    page = memo_page(OVER)

    sent = client.post("/api/v1/documents", files=[("files", ("depot.html", page, "text/html"))])
    assert sent.status_code == 413
    error = sent.json()["error"]
    assert error["code"] == "file_too_large"
    assert error["message"] == "depot.html is larger than 1 MiB"

    refused = client.post(
        "/gradio_api/upload", files=[("files", ("depot.html", page, "text/html"))]
    )
    assert refused.status_code == 413 and "1048576 bytes" in refused.text

    path = tmp_path / "depot.html"
    path.write_bytes(page)
    report = assistant.ingest([path])
    [result] = report.results
    expected = "1,048,577 bytes, more than the limit of 1 MiB (1,048,576 bytes)"
    assert result.status == "failed" and result.reason == expected, result.reason
    assert assistant.documents() == []
