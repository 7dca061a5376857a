"""How the embedder cuts texts into batches (``plan_batches`` in ``assistant/index/embeddings.py``).

What a user notices: every chunk gets its vector (none lost, none embedded twice), memory stays
bounded by the token budget, and ingest is not slowed by padding short texts to long ones.
Token counts come from the model's tokenizer alone (``TokenCounter``); no model is loaded.
"""

from __future__ import annotations

import random

import pytest

from assistant.index.embeddings import MODEL_MAX_TOKENS, TokenCounter, plan_batches
from assistant.text.sentences import split_sentences
from ingest.normalize import clean_inline
from tests.conftest import ARTICLE


def padded(lengths: list[int], batch: list[int]) -> int:
    """Tokens the model reads for a batch: every row padded to its longest."""
    return len(batch) * max(lengths[i] for i in batch)


def check_plan(lengths: list[int], budget: int) -> list[list[int]]:
    batches = plan_batches(lengths, budget)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(lengths)))  # each text once: none lost, none twice
    for batch in batches:
        assert batch
        assert len(batch) == 1 or padded(lengths, batch) <= budget
    return batches


@pytest.fixture(scope="module")
def article_lengths() -> list[int]:
    """Model tokens of each sentence of the test article, with the two special markers."""
    sentences = split_sentences(clean_inline(ARTICLE.read_text(encoding="utf-8")))
    return [n + 2 for n in TokenCounter().count(sentences)]


def test_every_sentence_is_planned_once_within_the_budget(article_lengths: list[int]) -> None:
    for budget in (64, 256, 2048):
        check_plan(article_lengths, budget)


def test_sorting_by_tokens_keeps_padding_small(article_lengths: list[int]) -> None:
    batches = check_plan(article_lengths, budget=256)
    assert len(batches) > 1
    work = sum(padded(article_lengths, b) for b in batches)
    assert work <= 1.2 * sum(article_lengths)


def test_longest_batches_come_first(article_lengths: list[int]) -> None:
    batches = check_plan(article_lengths, budget=256)
    heads = [max(article_lengths[i] for i in b) for b in batches]
    assert heads == sorted(heads, reverse=True)
    for batch in batches:
        row = [article_lengths[i] for i in batch]
        assert row == sorted(row, reverse=True)


def test_a_text_longer_than_the_budget_still_gets_a_batch_of_its_own() -> None:
    lengths = [MODEL_MAX_TOKENS, 10, 12, MODEL_MAX_TOKENS]
    batches = check_plan(lengths, budget=100)
    assert [0] in batches and [3] in batches
    assert sorted(i for b in batches for i in b if lengths[i] < 100) == [1, 2]


def test_many_short_texts_share_few_batches() -> None:
    rng = random.Random(7)
    lengths = [rng.randint(8, 40) for _ in range(2000)]
    batches = check_plan(lengths, budget=2048)
    # Packed close to the budget: the model runs few, full batches.
    assert all(padded(lengths, b) >= 0.95 * 2048 for b in batches[:-1])
    assert sum(padded(lengths, b) for b in batches) <= 1.1 * sum(lengths)


def test_nothing_to_embed_plans_nothing() -> None:
    assert plan_batches([], 2048) == []
