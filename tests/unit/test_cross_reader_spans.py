"""How the cross reader turns its start/end scores into a short answer: the best span inside
the sentence, no longer than ``MAX_SPAN`` word pieces, only when it beats "no span", grown to
whole words."""

from __future__ import annotations

import numpy as np

from assistant.cross_reader import MAX_SPAN, span_from_logits, widen


def _logits(n: int, start: dict[int, float], end: dict[int, float]):
    s = np.full(n, -5.0)
    e = np.full(n, -5.0)
    for i, v in start.items():
        s[i] = v
    for i, v in end.items():
        e[i] = v
    return s, e


def test_the_best_span_inside_the_sentence_wins() -> None:
    in_sentence = np.array([0, 0, 0, 1, 1, 1, 1, 1, 0], dtype=bool)
    # piece 1 (the question) scores highest but is not in the sentence
    s, e = _logits(9, {1: 9.0, 4: 3.0}, {1: 9.0, 5: 2.0})
    a, b, margin = span_from_logits(s, e, in_sentence)
    assert (a, b) == (4, 5)
    assert margin == 5.0 - (-10.0)


def test_no_span_when_cls_scores_higher() -> None:
    in_sentence = np.array([0, 0, 1, 1, 1], dtype=bool)
    s, e = _logits(5, {0: 6.0, 2: 1.0}, {0: 6.0, 3: 1.0})
    _, _, margin = span_from_logits(s, e, in_sentence)
    assert margin < 0


def test_end_never_before_start_and_length_capped() -> None:
    n = MAX_SPAN + 10
    in_sentence = np.ones(n, dtype=bool)
    in_sentence[0] = False
    s, e = _logits(n, {3: 4.0}, {2: 9.0, 3 + MAX_SPAN: 9.0, 5: 1.0})
    a, b, _ = span_from_logits(s, e, in_sentence)
    assert a == 3 and b == 5


def test_no_sentence_pieces_means_no_span() -> None:
    _, _, margin = span_from_logits(np.zeros(3), np.zeros(3), np.zeros(3, dtype=bool))
    assert margin < -1e8


def test_widen_to_whole_words() -> None:
    text = "It was built by Corbett Institute researchers."
    at = text.index("rbett")
    assert text[slice(*widen(text, at, at + 5))] == "Corbett"
    end = text.index("Institute") + 4
    assert text[slice(*widen(text, text.index("Corbett"), end))] == "Corbett Institute"
