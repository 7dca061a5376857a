"""How the learned reader's margins are weighed across the windows it read: per window for
weights trained a window at a time, over all the windows together for weights trained with
one softmax over a question's windows (``normalisation: shared`` in ``qa_reader.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.answering.qa_reader import Calibration
from assistant.answering.responder import Responder
from assistant.answering.span_reader import Span
from assistant.index.passages import Passage


def _window(start: int, text: str, retrieved: float = 0.5) -> SimpleNamespace:
    passage = Passage(
        f"doc{start}", "", "", text, start, start + len(text), "", retrieved, dense=retrieved
    )
    return SimpleNamespace(
        start=start, end=start + len(text), text=text, score=0.0, passage=passage
    )


def _readings(shared: bool, calibration: Calibration | None = None, spans: list | None = None):
    chosen = [_window(0, "The ferry leaves at nine."), _window(100, "It was late on Monday.", 0.2)]
    # the same margin over its own "no answer" in both windows; the second window's own
    # "no answer" score is far higher (the reader was sure it held no answer)
    spans = spans or [Span(20, 24, 2.0, -1.0, -2.0), Span(10, 14, 2.0, 3.0, 1.0)]
    reader = SimpleNamespace(
        read=lambda question, texts: spans, calibration=calibration or Calibration(shared=shared)
    )
    return Responder.read(SimpleNamespace(reader=reader), "When?", chosen)  # type: ignore[arg-type]


def test_margins_are_per_window_for_a_reader_trained_a_window_at_a_time() -> None:
    assert [r.margin for r in _readings(shared=False)] == [2.0, 2.0]


def test_margins_are_over_all_windows_for_a_reader_trained_on_them_together() -> None:
    joint = float(np.logaddexp(-1.0, 3.0) + np.logaddexp(-2.0, 1.0))
    margins = sorted(r.margin for r in _readings(shared=True))
    assert margins == pytest.approx(sorted([2.0 - 3.0 - joint, 2.0 + 4.0 - joint]))
    # weighed together, both fall below 2: the window sure of "no answer" speaks for both
    assert max(margins) < 2.0


def test_the_retrieval_evidence_weighs_in_by_the_fitted_weight() -> None:
    # the reader likes the second window's span a little more; its passage was barely matched
    spans = [Span(20, 24, 2.0, 0.0, 0.0), Span(10, 14, 2.5, 0.0, 0.0)]
    alone = _readings(False, Calibration(), spans)
    assert [r.start for r in alone] == [110, 20]
    assert [r.score for r in alone] == [r.margin for r in alone] == [2.5, 2.0]
    weighed = _readings(False, Calibration(passage_weight=4.0), spans)
    # 2.0 + 4 * 0.5 against 2.5 + 4 * 0.2: the well-matched passage's span comes first
    assert [r.start for r in weighed] == [20, 110]
    assert [r.score for r in weighed] == pytest.approx([4.0, 3.3])
    assert [r.margin for r in weighed] == [2.0, 2.5]  # the reader's own margins, unchanged


def test_the_calibration_file_says_how_the_weights_were_trained(tmp_path: Path) -> None:
    path = tmp_path / "reader.json"
    fitted = {"threshold": 1.5, "slope": 1.0, "intercept": 0.0}
    path.write_text(json.dumps(fitted))
    assert Calibration.shipped(path).shared is False
    path.write_text(json.dumps({**fitted, "normalisation": "shared"}))
    assert Calibration.shipped(path) == Calibration(1.5, 1.0, 0.0, shared=True)
    assert Calibration.shipped().shared is True  # the shipped reader: trained --shared
    path.write_text(json.dumps({**fitted, "weights": {"window": 0.5, "passage": 3.0}}))
    assert Calibration.shipped(path) == Calibration(
        1.5, 1.0, 0.0, window_weight=0.5, passage_weight=3.0
    )
