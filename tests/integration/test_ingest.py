"""Ingest into a real store (embedded, then a real Chroma server): incremental and safe."""

from __future__ import annotations

import shutil
from pathlib import Path

from assistant.core import Assistant
from tests.documents import ARTICLE_HTML, make_docx, make_pdf


def _stored(a: Assistant, doc_id: str) -> dict:
    """Every chunk stored for a document: id -> (text, metadata)."""
    col = a.index.chroma_collection(a.settings.collection)
    got = col.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
    return {
        i: (t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    }


def test_news_article_is_indexed_and_searchable(any_store: Assistant, article_file: Path) -> None:
    report = any_store.ingest([article_file])
    assert report.ok and report.count("ingested") == 1 and report.chunks_embedded > 0
    [doc] = any_store.documents()
    assert (
        doc.title.startswith("European Export Rules") and doc.chunk_count == report.chunks_embedded
    )
    full = any_store.document(doc.doc_id)
    assert full is not None and "Priya Raman" in full.text

    stored = _stored(any_store, doc.doc_id)
    assert len(stored) == doc.chunk_count
    for text, meta in stored.values():
        assert full.text[meta["start"] : meta["end"]] == text
        assert meta["source"] == str(article_file.resolve())
        assert meta["title"] == doc.title and meta["doc_id"] == doc.doc_id
        assert isinstance(meta["chunk"], int) and meta["para"] >= 1

    hits = any_store.search("Who founded Kestrel?", k=3)
    assert any("Priya Raman" in p.text for p in hits)
    assert hits[0].location.startswith("paragraph")
    assert all(full.text[p.start : p.end] == p.text for p in hits)


def test_reingest_unchanged_embeds_nothing(any_store: Assistant, article_file: Path) -> None:
    any_store.ingest([article_file])
    again = any_store.ingest([article_file])
    assert again.count("unchanged") == 1 and again.chunks_embedded == 0
    assert len(any_store.documents()) == 1


def test_changed_file_replaces_its_chunks(any_store: Assistant, tmp_path: Path) -> None:
    path = tmp_path / "memo.txt"
    path.write_text("Budget memo\n\nThe budget for 2026 is 40 million.\n\nIt was approved in May.")
    first = any_store.ingest([path])
    [doc] = any_store.documents()
    path.write_text("Budget memo\n\nThe budget for 2026 is 52 million after the revision.")
    second = any_store.ingest([path])
    assert first.ok and second.count("ingested") == 1
    [doc2] = any_store.documents()
    assert doc2.doc_id == doc.doc_id and doc2.content_hash != doc.content_hash
    stored = _stored(any_store, doc.doc_id)
    assert len(stored) == doc2.chunk_count
    assert all(m["hash"] == doc2.content_hash for _, m in stored.values())
    assert "52 million" in any_store.search("How big is the budget?", k=1)[0].text


def test_prune_and_remove(any_store: Assistant, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.md").write_text(f"# Note {name}\n\nThe note {name} says something.")
    any_store.ingest([folder])
    assert len(any_store.documents()) == 3
    (folder / "b.md").unlink()
    report = any_store.ingest([folder], prune=True)
    assert report.count("removed") == 1 and report.count("unchanged") == 2
    titles = sorted(d.title for d in any_store.documents())
    assert titles == ["Note a", "Note c"]

    a_doc = next(d for d in any_store.documents() if d.title == "Note a")
    assert [d.title for d in any_store.remove(a_doc.doc_id)] == ["Note a"]
    assert [d.title for d in any_store.remove(str(folder / "c.md"))] == ["Note c"]
    assert any_store.documents() == []
    assert _stored(any_store, a_doc.doc_id) == {}
    assert any_store.remove("no-such-doc") == []


def test_all_formats_in_one_folder(
    any_store: Assistant, tmp_path: Path, article_file: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(article_file, folder / "launch.txt")
    (folder / "grid.html").write_text(ARTICLE_HTML)
    make_pdf(folder / "review.pdf", title="Quarterly Risk Review")
    make_docx(folder / "memo.docx")
    (folder / "notes.md").write_text("# Notes\n\n## Costs\n\nThe chiller costs 3 million.")
    (folder / "photo.png").write_bytes(b"\x89PNG not really")
    report = any_store.ingest([folder])
    assert report.count("ingested") == 5 and report.count("skipped") == 1 and report.ok
    by_title = {d.title: d for d in any_store.documents()}
    assert by_title["Grid strained by heatwave"].date == "2025-03-04"
    pdf_hit = any_store.search("strategic reserve of critical minerals", k=1)[0]
    # the short PDF is one chunk over its three pages
    assert pdf_hit.title == "Quarterly Risk Review" and pdf_hit.location == "pages 1-3"
    md_hit = any_store.search("How much does the chiller cost?", k=1)[0]
    assert md_hit.heading in ("Costs", "Notes > Costs") and md_hit.location == md_hit.heading


def test_bad_files_fail_alone_and_touch_nothing(
    any_store: Assistant, tmp_path: Path, article_file: Path
) -> None:
    any_store.ingest([article_file])
    [before] = any_store.documents()
    chunks_before = _stored(any_store, before.doc_id)

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "noise.txt").write_bytes(bytes(range(256)) * 3)
    (bad / "cut.pdf").write_bytes(make_pdf(tmp_path / "ok.pdf").read_bytes()[:200])
    (bad / "broken.docx").write_bytes(b"PK\x03\x04garbage")
    (bad / "huge.txt").write_text("word " * 400)  # 2,000 bytes, over the 1,000-byte limit below
    (bad / "good.md").write_text("# Good\n\nThis file is fine and mentions turbines.")
    any_store.settings.max_file_mb = 0.001
    report = any_store.ingest([bad, tmp_path / "missing.txt"])

    failed = {Path(r.source).name: r.reason for r in report.results if r.status == "failed"}
    expected = {"empty.txt", "noise.txt", "cut.pdf", "broken.docx", "huge.txt", "missing.txt"}
    assert set(failed) == expected
    assert "limit" in failed["huge.txt"] and "no such file" in failed["missing.txt"]
    assert "binary" in failed["noise.txt"] and "empty" in failed["empty.txt"]
    assert not report.ok and report.count("ingested") == 1
    assert _stored(any_store, before.doc_id) == chunks_before
    assert {d.title for d in any_store.documents()} == {before.title, "Good"}


def test_urls_are_fetched_and_extracted(any_store: Assistant, web_server) -> None:
    any_store.settings.allow_private_urls = True  # the test's web server is on loopback
    base, root = web_server
    (root / "news").mkdir()
    (root / "news" / "grid").write_text(ARTICLE_HTML)  # no extension: the content type decides
    (root / "news" / "grid").rename(root / "news" / "grid.html")
    make_pdf(root / "review.pdf", title="Quarterly Risk Review")
    report = any_store.ingest(
        [
            f"{base}/news/grid.html",
            f"{base}/review.pdf",
            f"{base}/missing.html",
            "file:///etc/passwd",
        ]
    )
    statuses = {r.source.rsplit("/", 1)[-1]: r.status for r in report.results}
    assert statuses == {
        "grid.html": "ingested",
        "review.pdf": "ingested",
        "missing.html": "failed",
        "passwd": "failed",
    }
    by_title = {d.title: d for d in any_store.documents()}
    grid = any_store.document(by_title["Grid strained by heatwave"].doc_id)
    assert grid.source == f"{base}/news/grid.html" and grid.date == "2025-03-04"
    assert "READER-COMMENT" not in grid.text and "cookies" not in grid.text
    assert by_title["Quarterly Risk Review"].kind == "pdf"
