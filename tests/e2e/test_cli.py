"""The ``brief`` command as a user runs it: real process, real store, real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assistant.answering.answer import CITATION_FIELDS
from tests.conftest import run_brief

#: The short-answer fields of ``--json``.
SHORT = {"short", "short_citation", "short_start", "short_end"}


def test_help_documents_every_command(tmp_path: Path) -> None:
    out = run_brief("--help", data_dir=tmp_path / "data")
    assert out.returncode == 0
    for command in (
        "ingest",
        "list",
        "remove",
        "search",
        "collections",
        "serve",
        "--prune",
        "-k N",
    ):
        assert command in out.stdout, command
    sub = run_brief("ingest", "--help", data_dir=tmp_path / "data")
    assert "--collection" in sub.stdout and "--prune" in sub.stdout


def test_ingest_list_search_remove(tmp_path: Path, article_file: Path) -> None:
    data = tmp_path / "data"
    docs = tmp_path / "docs"
    docs.mkdir()
    article = docs / "kestrel-launch.txt"
    shutil.copy(article_file, article)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")

    first = run_brief("ingest", str(docs), data_dir=data)
    assert first.returncode == 1, first.stderr  # one file failed
    assert f"failed     {docs / 'broken.pdf'}: damaged PDF" in first.stderr
    assert f"ingested   {article}" in first.stderr
    assert "chunks embedded" in first.stderr  # progress lines when not on a terminal
    assert "1 ingested, 0 unchanged, 1 failed" in first.stdout

    (docs / "broken.pdf").unlink()
    again = run_brief("ingest", str(docs), "--prune", data_dir=data)
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stderr and "0 ingested, 1 unchanged, 0 failed" in again.stdout

    listing = run_brief("list", data_dir=data)
    assert listing.returncode == 0
    assert "European Export Rules May Have" in listing.stdout and "1 document(s)" in listing.stdout
    rows = json.loads(run_brief("list", "--json", data_dir=data).stdout)
    assert rows[0]["chunks"] >= 3 and rows[0]["source"] == str(article)

    found = run_brief("search", "Who founded Kestrel?", "-k", "2", "--json", data_dir=data)
    assert found.returncode == 0, found.stderr
    passages = json.loads(found.stdout)
    assert len(passages) == 2
    assert {"doc_id", "title", "source", "text", "start", "end", "location", "score"} <= set(
        passages[0]
    )
    assert any("Priya Raman" in p["text"] for p in passages)
    text_view = run_brief("search", "Which engines did Kestrel use?", data_dir=data)
    assert "[1]" in text_view.stdout and "paragraph" in text_view.stdout

    removed = run_brief("remove", str(article), data_dir=data)
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert "no documents" in run_brief("list", data_dir=data).stdout
    missing = run_brief("remove", "nothing-like-this", data_dir=data)
    assert missing.returncode == 1 and "no document matches" in missing.stderr


def test_collections_are_kept_apart(tmp_path: Path, article_file: Path) -> None:
    data = tmp_path / "data"
    out = run_brief("ingest", str(article_file), "--collection", "space-desk", data_dir=data)
    assert out.returncode == 0, out.stderr
    assert "space-desk" in run_brief("collections", data_dir=data).stdout
    assert "no documents" in run_brief("list", data_dir=data).stdout
    bad = run_brief("list", "--collection", "../etc", data_dir=data)
    assert bad.returncode == 2 and "invalid collection name" in bad.stderr


def test_ask_prints_a_cited_answer_and_json(tmp_path: Path, article_file: Path) -> None:
    data = tmp_path / "data"
    assert run_brief("ingest", str(article_file), data_dir=data).returncode == 0
    out = run_brief("ask", "How much did KX1 reportedly cost to develop?", data_dir=data)
    assert out.returncode == 0, out.stderr
    assert "$18.5 million" in out.stdout and "Sources:" in out.stdout and "[1]" in out.stdout
    raw = run_brief("ask", "What is the capital of Peru?", "--json", data_dir=data)
    answer = json.loads(raw.stdout)
    assert set(answer) == {"text", "abstained", "citations", "related", "timings"} | SHORT | {
        "sentences",
        "dropped",
    }
    assert answer["abstained"] is True and answer["related"]
    cited = json.loads(run_brief("ask", "Who founded Kestrel?", "--json", data_dir=data).stdout)
    assert set(cited["citations"][0]) == set(CITATION_FIELDS)


def test_ask_leads_with_the_short_answer(tmp_path: Path, article_file: Path) -> None:
    data = tmp_path / "data"
    assert run_brief("ingest", str(article_file), data_dir=data).returncode == 0
    out = run_brief("ask", "Where is Kestrel based?", data_dir=data)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # The short answer on its own line, before the cited sentences that hold it.
    assert lines[0] == "Answer: Pune  [1]", out.stdout
    assert "Based in Pune" in "\n".join(lines[1:]) and "Sources:" in out.stdout

    raw = run_brief("ask", "How much did KX1 cost?", "--json", data_dir=data)
    answer = json.loads(raw.stdout)
    assert answer["short"] == "$18.5 million" and answer["short_citation"] == 1
    cite = answer["citations"][0]
    offset = answer["short_start"] - cite["start"]
    assert cite["quote"][offset : offset + len(answer["short"])] == "$18.5 million"
    assert answer["short_end"] - answer["short_start"] == len("$18.5 million")

    refused = json.loads(
        run_brief("ask", "What is the capital of Peru?", "--json", data_dir=data).stdout
    )
    assert refused["abstained"] and refused["short"] is None and refused["short_citation"] is None
