"""What a reader sees while a chat model's answer streams in (``assistant/answering/llm.py``).

``sentences_of`` gives the text a sentence at a time, each with its markers, once the next
begins (each is verified before it is shown: ``tests/integration/test_llm.py``); ``EchoGuard``
holds back words that could be the start of a recital of our own instructions, and stops the
answer when one is complete. The model is a stand-in that yields the chunks a hosted model
would send.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from assistant.answering.llm import EchoGuard, LLMWriter, prompt_runs
from assistant.answering.prompts import load
from assistant.answering.verify import sentences_of
from assistant.index.passages import Passage
from assistant.settings import Settings

#: A sentence of our answer prompt (``prompts/answer.md``), word for word.
RECITAL = (
    "Use only facts stated in the passages. Do not add knowledge of your own, guesses or advice."
)


def pieces(text: str, size: int) -> list[str]:
    """``text`` cut into chunks of ``size`` characters, as a model streams it."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def sentence_stream(chunks: list[str]) -> list[str]:
    return list(sentences_of(chunks))


def guard_stream(
    chunks: list[str], allowed: list[str] | None = None
) -> tuple[EchoGuard, list[str]]:
    g = EchoGuard(allowed or [])
    shown = []
    for c in chunks:
        shown.append(g.feed(c))
        if g.leaked:
            break
    shown.append(g.flush())
    return g, shown


def test_the_recital_used_here_is_really_in_the_prompt() -> None:
    # Guards against this file passing because the prompt changed under it.
    assert " ".join(RECITAL.split()) in " ".join(load("answer").split())
    assert prompt_runs()


# --- markers --------------------------------------------------------------------------------


def test_a_sentence_is_given_whole_with_its_markers_only_once_the_next_begins() -> None:
    text = "The strike lasted nine days [1]. Pay rose by 4%. [2] [1] The depot opens in May"
    for size in (1, 2, 3, 5, len(text)):
        got = sentence_stream(pieces(text, size))
        assert got == [
            "The strike lasted nine days [1].",
            "Pay rose by 4%. [2] [1]",  # the markers after its full stop are its own
            "The depot opens in May",  # the last, when the text ends
        ]


def test_a_year_in_brackets_is_text_not_a_marker() -> None:
    assert sentence_stream(["Founded [20", "19] in Pune [", "1]. Then"]) == [
        "Founded [2019] in Pune [1].",
        "Then",
    ]


def test_an_unfinished_bracket_at_the_end_is_text() -> None:
    assert sentence_stream(["It cost 18 million [", "1"]) == ["It cost 18 million [1"]


# --- recitals of the prompt -----------------------------------------------------------------


def test_a_recited_prompt_is_never_shown_even_in_part() -> None:
    answer = "Priya Raman founded Kestrel [1]. My instructions say: "
    for size in (1, 4, 9, 1000):
        guard, shown = guard_stream(pieces(answer + RECITAL, size))
        assert guard.leaked
        assert "".join(shown) == answer
        # What is kept (and verified) is the cited sentence before the recital, nothing of it.
        assert guard.text() == "Priya Raman founded Kestrel [1]."


def test_a_recital_in_capitals_and_markup_is_caught() -> None:
    shouted = "Sure. **USE ONLY FACTS** stated IN _the passages_. Do not add knowledge."
    guard, shown = guard_stream(pieces(shouted, 6))
    assert guard.leaked
    assert "".join(shown) == "Sure. **"


def test_words_the_question_or_a_passage_holds_are_not_a_recital() -> None:
    passage = "The depot rule reads: use only facts stated in the passages of the permit."
    answer = "The permit says to use only facts stated in the passages [1]."
    guard, shown = guard_stream(pieces(answer, 5), allowed=["What does the permit say?", passage])
    assert not guard.leaked
    assert "".join(shown) == answer
    assert guard.text() == answer


def test_words_that_start_like_the_prompt_are_held_then_shown_whole() -> None:
    answer = "Drivers use only the north gate after 6 pm [1]."
    guard = EchoGuard()
    first = guard.feed("Drivers use only")
    # "use only" may begin "use only facts stated in the passages": held back for now...
    assert first == "Drivers "
    rest = guard.feed(" the north gate after 6 pm [1].") + guard.flush()
    # ...and shown as soon as it is plainly not the prompt.
    assert first + rest == answer
    assert not guard.leaked


# --- both together, as the chat streams a model's answer ------------------------------------


@dataclass
class Chunk:
    content: str


class StreamingModel:
    """A stand-in for a hosted chat model: streams fixed chunks and counts what was read."""

    def __init__(self, chunks: list[str]) -> None:
        self.chunks = chunks
        self.sent = 0

    def stream(self, messages: object) -> Iterator[Chunk]:
        for c in self.chunks:
            self.sent += 1
            yield Chunk(c)


def passage(n: int, text: str) -> Passage:
    return Passage(
        doc_id=f"d{n}",
        title=f"Doc {n}",
        source=f"doc{n}.txt",
        location="",
        text=text,
        start=0,
        end=len(text),
        score=1.0,
    )


def write(chunks: list[str], passages: list[Passage]) -> tuple[StreamingModel, str]:
    model = StreamingModel(chunks)
    writer = LLMWriter(Settings())
    writer._model = model  # the hosted model, faked
    return model, "".join(writer.write("Who founded Kestrel?", passages, None))


def test_the_writer_passes_the_models_own_markers_to_verification() -> None:
    passages = [passage(1, "Kestrel was founded by Priya Raman."), passage(2, "It is in Pune.")]
    text = "Priya Raman founded Kestrel [1]. It is based in Pune [2] [7]."
    model, written = write(pieces(text, 3), passages)
    assert written == text  # verification reads the model's own numbers
    assert model.sent == len(model.chunks)


def test_the_writer_stops_a_model_that_recites_its_prompt() -> None:
    passages = [passage(1, "Kestrel was founded by Priya Raman.")]
    chunks = pieces("Priya Raman founded Kestrel [1]. " + RECITAL + " " + RECITAL, 4)
    model, written = write(chunks, passages)
    assert written == "Priya Raman founded Kestrel [1]. "
    assert model.sent < len(chunks) // 2  # stopped, not read to the end
