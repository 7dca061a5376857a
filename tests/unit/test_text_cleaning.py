"""Cleaning extracted text and finding sentences: what a reader of citations would notice."""

from __future__ import annotations

from assistant.text.sentences import split_sentences
from ingest.normalize import Block, assemble, clean_blocks, clean_inline, split_run_ons


def test_run_on_sentences_are_split_but_urls_and_names_kept() -> None:
    assert split_run_ons("led by Airbus and Arianespace.Remarkably, Kestrel") == (
        "led by Airbus and Arianespace. Remarkably, Kestrel"
    )
    assert split_run_ons("see www.Example.com and Node.js or U.S.A. today") == (
        "see www.Example.com and Node.js or U.S.A. today"
    )
    assert split_run_ons("it cost $18.5 million.") == "it cost $18.5 million."


def test_unicode_and_whitespace_are_normalised() -> None:
    decomposed = "Cafe\u0301\u00a0\u00a0au\tlait\u200b  \x07ok"
    assert clean_inline(decomposed) == "Café au lait ok"


def test_trailing_web_boilerplate_is_removed() -> None:
    body = [
        Block(text=f"Paragraph {i} of the article, with enough words to count.") for i in range(8)
    ]
    tail = [Block(text="Comments"), Block(text="Popular posts from this blog"), Block(text="Share")]
    cleaned = clean_blocks(body + tail)
    assert [b.text for b in cleaned] == [b.text for b in body]


def test_a_comments_section_early_in_a_report_is_kept() -> None:
    blocks = [Block(text="Intro paragraph with content."), Block(text="Comments")]
    blocks += [Block(text=f"Reviewer remark number {i} with some detail.") for i in range(10)]
    assert len(clean_blocks(blocks)) == len(blocks)


def test_assemble_records_pages_and_sections() -> None:
    out = assemble(
        [
            Block(text="Title", page=1, heading=("Title",)),
            Block(text="First page text.", page=1, heading=("Title",)),
            Block(text="Second page text.", page=2, heading=("Title", "Part two")),
        ]
    )
    assert out.text == "Title\n\nFirst page text.\n\nSecond page text."
    assert out.layout["pages"] == [[0, 1], [25, 2]]
    assert out.layout["sections"] == [[0, "Title"], [25, "Title > Part two"]]
    assert out.text[25:].startswith("Second")


def test_sentences_of_news_prose() -> None:
    text = (
        "Dr. Smith met officials in Washington. He said the U.S. Army was ready. "
        "It cost $18.5 million! Why? “Restrictions pushed the team,” said T. Lindqvist. "
        "In the U.S. The debate goes on."
    )
    assert split_sentences(text) == [
        "Dr. Smith met officials in Washington.",
        "He said the U.S. Army was ready.",
        "It cost $18.5 million!",
        "Why?",
        "“Restrictions pushed the team,” said T. Lindqvist.",
        "In the U.S.",
        "The debate goes on.",
    ]


def test_sentences_never_cross_lines() -> None:
    assert split_sentences("Heading\nA sentence. Another one") == [
        "Heading",
        "A sentence.",
        "Another one",
    ]
