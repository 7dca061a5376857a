"""The reader's first pass (``answering/windows.py``): which sentences it reads, each once."""

from __future__ import annotations

import numpy as np

from assistant.answering import windows
from assistant.index.passages import Passage

DOC = (
    "The council met on Monday. It approved the new bridge. Work starts in May. "
    "The bridge will cost four million pounds. Traffic will use the old road until then. "
    "The mayor welcomed the decision."
)


class _Vectors:
    """Sentence vectors without a model: the question's direction for sentences naming the
    bridge, another for the rest."""

    def of(self, collection: str, passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
        rows = []
        for a, b in spans:
            text = DOC[a:b]
            rows.append([1.0, 0.0] if "bridge" in text else [0.0, 1.0])
        return np.array(rows, dtype=np.float32)


def _passage(start: int, end: int, score: float) -> Passage:
    return Passage("doc", "Council", "council.txt", DOC[start:end], start, end, "", score)


def test_a_sentence_is_read_once_though_two_passages_hold_it() -> None:
    # two chunks of one document sharing a sentence ("Work starts in May.")
    cut = DOC.index("The bridge will")
    first = _passage(0, cut - 1, 0.5)
    second = _passage(DOC.index("Work starts"), len(DOC), 0.4)
    chosen = windows.select([first, second], np.array([1.0, 0.0]), _Vectors(), "default", 8)  # type: ignore[arg-type]
    read = [(a, b) for w in chosen for a, b in w.sentences]
    assert len(read) == len(set(read)), [DOC[a:b] for a, b in read]
    # every window is the document's own text at its offsets
    assert all(DOC[w.start : w.end] == w.text for w in chosen)
    # both sentences that name the bridge are read
    texts = " ".join(w.text for w in chosen)
    assert "approved the new bridge" in texts and "four million pounds" in texts


def _reading(doc: str, text: str, answer: str, score: float) -> windows.Reading:
    passage = Passage(doc, doc, f"{doc}.txt", text, 0, len(text), "", 0.5)
    window = windows.Window(passage, 0, len(text), text, [(0, len(text))], 0.5)
    at = text.index(answer)
    return windows.Reading(window, at, at + len(answer), score, score)


def test_one_answer_read_in_several_articles_counts_as_the_sum_of_its_readings() -> None:
    # three reports name the same winner, none of them sure on its own; a fourth names another
    readings = [
        _reading("a", "The prize went to Ana Duarte on Friday.", "Ana Duarte", 1.0),
        _reading("b", "Ana Duarte's novel won the prize.", "Ana Duarte's", 0.9),
        _reading("c", "Judges chose Ana Duarte.", "Ana Duarte", 0.5),
        _reading("d", "Lee Park had been the favourite.", "Lee Park", 1.2),
    ]
    ranked = windows.combine(readings)
    # the one answer of three readings ranks first, its best reading first
    assert [r.window.passage.doc_id for r in ranked] == ["a", "b", "c", "d"]
    expected = float(np.logaddexp.reduce([1.0, 0.9, 0.5]))
    assert abs(ranked[0].combined - expected) < 1e-9 and ranked[0].combined > 1.2
    # a reading alone keeps its own score
    assert ranked[-1].combined == ranked[-1].score == 1.2
    assert windows.answer_key("the Moon") == windows.answer_key("Moon.")
    assert windows.answer_key("Pope Benedict XVI") != windows.answer_key("Benedict XVI")


def test_one_document_naming_its_subject_again_and_again_counts_once() -> None:
    # a memo names its rocket in three sentences; one sentence names the engines asked about
    sentences = {
        "The KX1 rocket flew in March.": 0.8,
        "Engineers built the KX1 in Pune.": 0.7,
        "The KX1 was cheap to build.": 0.6,
        "It used M40 engines.": 1.0,
    }
    readings = [
        _reading("memo", text, "M40" if "M40" in text else "KX1", score)
        for text, score in sentences.items()
    ]
    ranked = windows.combine(readings)
    # the subject's three readings in one document are one piece of evidence: the best of them
    assert ranked[0].window.text == "It used M40 engines." and ranked[0].combined == 1.0
    assert all(r.combined == 0.8 for r in ranked[1:])


def test_an_answer_quotes_its_best_reading_and_a_sure_other_one() -> None:
    best = _reading("a", "The prize went to Ana Duarte.", "Ana Duarte", 3.0)
    other = _reading("b", "Lee Park was runner-up.", "Lee Park", 2.0)
    ranked = windows.combine([other, best])
    # the other reading is quoted only when its own score clears the threshold
    assert windows.quoted(ranked, 1.5) == [best, other]
    assert windows.quoted(ranked, 2.5) == [best]
    # never a second reading of the same sentence
    again = _reading("a", "The prize went to Ana Duarte.", "prize", 2.9)
    assert windows.quoted(windows.combine([best, again]), 0.0) == [best]
    assert windows.quoted([], 0.0) == []
