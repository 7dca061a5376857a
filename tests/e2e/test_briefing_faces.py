"""Briefings through the faces a user reaches them by: ``brief me`` (a real process) and
``POST /api/v1/brief`` (a real server), over a real store holding the test article."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, free_port, run_brief, served

SECTIONS = ["## Key points", "## Who said what", "## Sources"]
ADMIN_KEY = "admin-key-briefing-0123456789"
ASK_KEY = "ask-key-briefing-0123456789"


@pytest.fixture(scope="module")
def article_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose default collection holds the test article."""
    data = tmp_path_factory.mktemp("briefing") / "data"
    assert Assistant(Settings(data_dir=data)).ingest([ARTICLE]).ok
    return data


@pytest.fixture(scope="module")
def api(article_data: Path) -> Iterator[httpx.Client]:
    with served(Assistant(Settings(data_dir=article_data, max_question_chars=300))) as client:
        yield client


def markers_and_sources(markdown: str) -> tuple[set[int], set[int]]:
    """The marker numbers used before "## Sources", and the numbers listed under it."""
    body, _, sources = markdown.partition("## Sources")
    used = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    listed = {int(n) for n in re.findall(r"^(\d+)\. ", sources, flags=re.MULTILINE)}
    return used, listed


def assert_readable_briefing(markdown: str) -> None:
    """What a reader of the export sees: the sections, who said what, markers with sources."""
    assert markdown.startswith("# Briefing: default\n")
    for heading in SECTIONS:
        assert heading in markdown, heading
    who = markdown.split("## Who said what")[1].split("\n## ")[0]
    assert "**Tobias Lindqvist**, Uppsala University:" in who
    assert "Priya Raman" in who
    used, listed = markers_and_sources(markdown)
    assert used and used <= listed, f"markers without a source: {used - listed}"
    # Each source quotes the article's own words.
    article = " ".join(ARTICLE.read_text(encoding="utf-8").split())
    for line in markdown.split("## Sources")[1].strip().splitlines()[:5]:
        quote = line.split(": “", 1)[1].removesuffix("”")
        assert " ".join(quote.split()) in article, line


# --- the command line ------------------------------------------------------------------------


def test_brief_me_prints_the_markdown_briefing(article_data: Path) -> None:
    out = run_brief("me", data_dir=article_data)
    assert out.returncode == 0, out.stderr
    assert_readable_briefing(out.stdout)
    assert "*1 document;" in out.stdout


def test_brief_me_as_json_with_a_focus_written_to_a_file(
    article_data: Path, tmp_path: Path
) -> None:
    target = tmp_path / "brief.json"
    out = run_brief(
        "me",
        "--focus",
        "export rules",
        "--format",
        "json",
        "-o",
        str(target),
        data_dir=article_data,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and f"wrote {target}" in out.stderr
    data = json.loads(target.read_text(encoding="utf-8"))
    for field in ("key_points", "who_said_what", "key_figures", "timeline", "open_questions"):
        assert isinstance(data[field], list), field
    assert data["title"] == "Briefing: default — export rules"
    assert data["focus"] == "export rules" and data["documents"] == 1
    assert data["empty"] is False and data["markdown"].startswith("# Briefing: default — export")
    numbers = {c["n"] for c in data["citations"]}
    for item in data["key_points"] + data["who_said_what"]:
        assert item["citations"] and set(item["citations"]) <= numbers
    assert {"n", "doc_id", "title", "source", "location", "quote", "start", "end"} <= set(
        data["citations"][0]
    )
    speakers = {s["speaker"] for s in data["who_said_what"]}
    assert "Tobias Lindqvist" in speakers


def test_brief_me_on_an_empty_collection_says_so(article_data: Path) -> None:
    out = run_brief("me", "--collection", "empty-desk", data_dir=article_data)
    assert out.returncode == 0, out.stderr
    assert "collection 'empty-desk' has no documents: nothing to brief on" in out.stderr
    assert "*0 documents;" in out.stdout and "nothing to brief on" in out.stdout
    assert "## Key points" not in out.stdout


def test_brief_me_errors_are_clear_and_not_zero(article_data: Path, tmp_path: Path) -> None:
    bad = run_brief("me", "--collection", "../etc", data_dir=article_data)
    assert bad.returncode == 2 and "error: invalid collection name '../etc'" in bad.stderr
    long = run_brief("me", "--focus", "tariffs " * 400, data_dir=article_data)
    assert long.returncode == 2 and "error: the focus is longer than" in long.stderr
    unwritable = run_brief("me", "-o", str(tmp_path / "missing" / "b.md"), data_dir=article_data)
    assert unwritable.returncode == 1 and "error: cannot write" in unwritable.stderr
    usage = run_brief("me", "--format", "pdf", data_dir=article_data)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    help_text = run_brief("--help", data_dir=article_data).stdout
    assert "brief me [--collection NAME] [--focus TEXT]" in help_text


# --- the HTTP API ----------------------------------------------------------------------------


def test_api_brief_returns_the_briefing_json(api: httpx.Client) -> None:
    r = api.post("/api/v1/brief", json={})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["collection"] == "default" and data["focus"] is None and not data["empty"]
    assert data["written_by"] == "offline" and data["timings"]
    assert "Tobias Lindqvist" in {s["speaker"] for s in data["who_said_what"]}
    assert_readable_briefing(data["markdown"])
    # No body at all is the same request.
    assert api.post("/api/v1/brief").json()["title"] == "Briefing: default"


def test_api_brief_as_a_markdown_download(api: httpx.Client) -> None:
    by_query = api.post("/api/v1/brief", params={"format": "md"}, json={"focus": "export rules"})
    assert by_query.status_code == 200
    assert by_query.headers["content-type"] == "text/markdown; charset=utf-8"
    assert by_query.headers["content-disposition"] == 'attachment; filename="briefing-default.md"'
    assert by_query.text.startswith("# Briefing: default — export rules\n")
    assert "Tobias Lindqvist" in by_query.text
    used, listed = markers_and_sources(by_query.text)
    assert used and used <= listed

    by_accept = api.post("/api/v1/brief", json={}, headers={"Accept": "text/markdown"})
    assert by_accept.headers["content-type"] == "text/markdown; charset=utf-8"
    assert_readable_briefing(by_accept.text)


def test_api_brief_of_an_empty_collection(api: httpx.Client) -> None:
    # A collection that does not exist is a 404 and is not created by asking (issue 24); one
    # whose documents were all removed is still there, and empty.
    assert api.post("/api/v1/brief", json={"collection": "empty-desk"}).status_code == 404
    added = api.post(
        "/api/v1/documents",
        files=[("files", ("desk.txt", b"Desk note\n\nThe desk moved to room 4 on Monday.\n"))],
        data={"collection": "empty-desk"},
    )
    assert added.status_code == 200, added.text
    doc_id = added.json()["results"][0]["doc_id"]
    assert api.delete(f"/api/v1/documents/{doc_id}", params={"collection": "empty-desk"}).is_success
    data = api.post("/api/v1/brief", json={"collection": "empty-desk"}).json()
    assert data["documents"] == 0 and data["empty"] is True and data["citations"] == []
    assert "nothing to brief on" in data["markdown"]
    md = api.post("/api/v1/brief?format=md", json={"collection": "empty-desk"})
    assert md.headers["content-disposition"] == 'attachment; filename="briefing-empty-desk.md"'


@pytest.mark.parametrize(
    ("body", "query", "code"),
    [
        ({"focus": "x" * 301}, "", "focus_too_long"),
        ({"collection": "../etc"}, "", "invalid_collection"),
        ({"focus": 12}, "", "invalid_request"),
        ({}, "?format=pdf", "invalid_request"),
    ],
)
def test_api_brief_refuses_bad_requests_with_422(
    api: httpx.Client, body: dict, query: str, code: str
) -> None:
    r = api.post("/api/v1/brief" + query, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_api_brief_is_in_the_openapi_schema(api: httpx.Client) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/brief"]["post"]
    assert {"application/json", "text/markdown"} <= set(operation["responses"]["200"]["content"])


def test_api_brief_takes_an_ask_key_and_refuses_no_key(article_data: Path) -> None:
    keyed = Assistant(Settings(data_dir=article_data, api_keys=f"{ADMIN_KEY}:admin,{ASK_KEY}:ask"))
    with served(keyed) as client:
        refused = client.post("/api/v1/brief", json={})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        wrong = client.post("/api/v1/brief", headers={"Authorization": "Bearer not-a-key-at-all"})
        assert wrong.status_code == 401
        asked = client.post(
            "/api/v1/brief", json={}, headers={"Authorization": f"Bearer {ASK_KEY}"}
        )
        assert asked.status_code == 200, asked.text
        assert "Tobias Lindqvist" in asked.json()["markdown"]


def test_api_brief_with_a_chat_model_that_cannot_be_reached_is_503(article_data: Path) -> None:
    unreachable = Settings(
        data_dir=article_data,
        llm="fake-model",
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_timeout_s=5,
    )
    with served(Assistant(unreachable)) as client:
        r = client.post("/api/v1/brief", json={})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "model_unavailable" and r.json()["error"]["message"]
        assert int(r.headers["retry-after"]) > 0


def test_downloaded_exports_do_not_pile_up(tmp_path: Path) -> None:
    """The web chat's Download .md files: one per briefing, and those older than a day go
    when a new one is written (the same briefing again is the same file)."""
    import os
    import time

    from assistant.briefing.items import Briefing
    from assistant.faces.viewer import EXPORT_TTL_S, write_export

    folder = tmp_path / "exports"
    old = write_export(Briefing(collection="harbour", focus="ferries", documents=1), folder)
    assert old.name == "briefing-harbour.md" and old.read_text().startswith("# Briefing")
    again = write_export(Briefing(collection="harbour", focus="ferries", documents=1), folder)
    assert again == old
    stale = time.time() - EXPORT_TTL_S - 60
    os.utime(old.parent, (stale, stale))
    new = write_export(Briefing(collection="harbour", focus="tides", documents=1), folder)
    assert new.is_file() and not old.exists()
    assert [p.name for p in folder.iterdir()] == [new.parent.name]
