"""The learned reader's float32 pass runs on ONNX Runtime (the model exported at load): it must
read every window as torch reads it, the same words with the same margins, or its calibrated
threshold would no longer mean what it was fitted to mean. Real shipped weights, sentences
written here."""

from __future__ import annotations

from assistant.answering.qa_reader import Reader

QUESTION = "Who founded the Halden Valley cider press?"
WINDOWS = [
    "The Halden Valley cider press was founded in 2011 by Marta Okonkwo, a former teacher.",
    "Its cider sells in 40 shops. Okonkwo said the press would double its orchard by 2027.",
    "Rain delayed the apple harvest by three weeks this autumn across the whole county.",
    "",  # an empty text has no span, on either pass
    "A much longer window that goes on and on about the valley's orchards, its old stone "
    "barns, the river that floods every other winter, the village shop and its post office, "
    "the bus that runs twice a day to the market town, and the cider festival held each "
    "October since the press opened its doors to visitors from all over the region.",
]


def test_onnx_runtime_reads_every_window_as_torch_does() -> None:
    onnx = Reader(dtype="float32")
    read = onnx.read(QUESTION, WINDOWS)
    assert onnx._session is not None, "the float32 reader runs on ONNX Runtime"
    assert onnx._model is None, "the session holds the weights: no second copy on torch"

    plain = Reader(dtype="float32", onnx=False)  # torch's own pass
    again = plain.read(QUESTION, WINDOWS)

    assert read[3] is None and again[3] is None
    found = read[0]
    assert found is not None and WINDOWS[0][found.start : found.end] == "Marta Okonkwo"
    for a, b in zip(read, again, strict=True):
        if a is None or b is None:
            assert a is b
            continue
        assert (a.start, a.end) == (b.start, b.end)
        assert abs(a.margin - b.margin) < 1e-3
        assert abs(a.null_start - b.null_start) < 1e-3 and abs(a.null_end - b.null_end) < 1e-3
