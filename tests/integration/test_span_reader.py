"""The learned span reader (issue 15, point 1): the words of a cited sentence that answer a
question asking for a name or thing, where the rules find no candidate of the type asked.

Run through the real packaged MiniLM with the shipped weights
(assistant/answering/span_reader.npz), on
our own memo. The questions were written after the reader was trained, without tuning on them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from assistant.answering import span_reader
from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import MEMO


@pytest.fixture(scope="module")
def memo_assistant(tmp_path_factory) -> Assistant:
    a = Assistant(Settings(data_dir=tmp_path_factory.mktemp("data")))
    a.ingest([MEMO])
    return a


def test_packed_weights_read_back_within_int8_precision() -> None:
    weight = torch.randn(8, 16)
    bias = torch.randn(16)
    back = span_reader.unpack(span_reader.pack({"w": weight, "b": bias}))
    scale = weight.abs().max(dim=1, keepdim=True).values.numpy() / 127.0
    assert np.all(np.abs(back["w"] - weight.numpy()) <= scale / 2 + 1e-6)
    assert np.allclose(back["b"], bias.numpy(), atol=1e-2)


@pytest.mark.parametrize(
    ("question", "short"),
    [
        ("What did soil tests find on the gasworks site?", "tar"),
        ("What must stay open until the last diesel buses retire?", "Eastfield"),
    ],
)
def test_a_thing_the_rules_cannot_name_gets_a_short_answer(
    memo_assistant: Assistant, question: str, short: str
) -> None:
    answer = memo_assistant.ask(question)
    assert not answer.abstained, answer.text
    assert answer.short is not None and short in answer.short, answer.short
    # verbatim: the short answer is the cited document's text at the offsets given
    record = memo_assistant.index.registry.get("default", answer.citations[0].doc_id)
    assert record.text[answer.short_start : answer.short_end] == answer.short


def test_amounts_keep_the_rules_whole_span(memo_assistant: Assistant) -> None:
    answer = memo_assistant.ask("How much would the new depot cost?")
    assert answer.short == "38 million pounds"


def test_rules_alone_when_asked(tmp_path) -> None:
    a = Assistant(Settings(data_dir=tmp_path, short_reader="rules"))
    assert a.responder.span_reader is None
    a.ingest([MEMO])
    answer = a.ask("How much would the new depot cost?")
    assert answer.short == "38 million pounds"


def test_long_question_and_blank_sentences_are_read_safely() -> None:
    reader = span_reader.SpanReader()
    sentence = "We recommend building a new depot on the former gasworks site at Miller Road."
    long_question = "background " * 900 + "Where is the new depot to be built?"
    found = reader.read(long_question, ["", sentence, "   "])
    assert found[0] is None and found[2] is None
    span = found[1]
    assert span is not None and 0 <= span.start < span.end <= len(sentence)


def test_one_reader_per_process(tmp_path) -> None:
    first = Assistant(Settings(data_dir=tmp_path / "a"))
    second = Assistant(Settings(data_dir=tmp_path / "b"))
    assert first.responder.span_reader is second.responder.span_reader
