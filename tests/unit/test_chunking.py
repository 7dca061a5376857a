"""Chunks of the test news article: exact offsets, within the model's window, with overlap."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from assistant.index.embeddings import MAX_CHUNK_TOKENS, get_embedder, model_path
from ingest.chunking import chunk_text
from ingest.loaders import load_bytes
from ingest.normalize import assemble, clean_blocks


@pytest.fixture(scope="module")
def counter():
    return get_embedder().tokens


def _article_text(article: Path) -> tuple[str, dict]:
    extracted = load_bytes(article.read_bytes(), article.name)
    assembled = assemble(clean_blocks(extracted.blocks))
    return assembled.text, assembled.layout


def test_article_text_is_clean(article_file: Path) -> None:
    text, _ = _article_text(article_file)
    assert "Arianespace. Remarkably" in text
    assert not text.rstrip().endswith(("Comments", "Popular posts from this blog"))
    assert "Popular posts" not in text
    assert "\n\n\n" not in text


def test_every_article_chunk_is_an_exact_span(article_file: Path, counter) -> None:
    text, layout = _article_text(article_file)
    chunks = chunk_text(text, layout, counter, target=120, limit=MAX_CHUNK_TOKENS, overlap=30)
    assert len(chunks) >= 4
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.tokens <= MAX_CHUNK_TOKENS
    # the model's own tokenizer, loaded as sentence-transformers loads it, agrees that nothing
    # is truncated (the tokenizer alone: unit tests load no model)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path()))
    for chunk in chunks:
        assert len(tokenizer(chunk.text)["input_ids"]) <= 256
    # every sentence of the article is in some chunk; neighbours overlap a little
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_an_endless_sentence_is_cut_within_the_window(counter) -> None:
    text = "word " * 1000 + "end."
    chunks = chunk_text(text.strip(), {}, counter, target=200, limit=MAX_CHUNK_TOKENS, overlap=20)
    assert len(chunks) >= 4
    for chunk in chunks:
        assert chunk.tokens <= MAX_CHUNK_TOKENS
        assert chunk.text == text.strip()[chunk.start : chunk.end]


def test_chunks_keep_their_section_and_page(counter) -> None:
    text = "Intro sentence here.\n\nFindings\n\nCosts rose by a third.\n\nPage two text."
    layout = {"sections": [[0, "Report"], [22, "Report > Findings"]], "pages": [[0, 1], [56, 2]]}
    chunks = chunk_text(text, layout, counter, target=5, limit=MAX_CHUNK_TOKENS, overlap=0)
    by_text = {c.text: c for c in chunks}
    assert by_text["Intro sentence here."].heading == "Report"
    assert by_text["Costs rose by a third."].heading == "Report > Findings"
    assert by_text["Page two text."].page == 2
    assert by_text["Intro sentence here."].page == 1
