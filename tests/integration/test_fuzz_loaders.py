"""Hostile files: whatever bytes reach a loader, reading them ends in a document or a named error.

Property, checked by hypothesis on random bytes and on mutations of real PDF, DOCX, HTML,
Markdown and text files (``tests/fuzz_inputs.py``; a fixed number of examples, derandomized):
reading a file the way ingest does (``ingest.sandbox.load_bounded``) returns an ``Extracted``
or raises an ``IngestError``, never another exception, never a crash of the reader, always
within the time limit, and this process keeps running. ``make fuzz`` runs the same for
minutes (``bench/fuzz.py``). The caps are proven on files built to defeat them: a DOCX that
inflates to 3 GiB and a PDF of 100,000 pages are refused in seconds; a file that stalls the
parser is cut by the time limit, one that needs too much memory by the memory limit, and a
reader that dies costs that file only.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings

from assistant.core import Assistant
from assistant.errors import CorruptFile, IngestError, TooLarge
from assistant.settings import Settings
from ingest.loaders import LOADERS
from ingest.sandbox import (
    Limits,
    ReaderFailed,
    ReaderPool,
    load_bounded,
    reader_pool,
    reads_in_process,
)
from tests.fuzz_inputs import Case, docx_bomb, docx_with_body, fuzz_cases, pdf_of_pages, seeds

#: Tight enough that a stalled reader fails the run quickly, loose enough for a busy machine.
LIMITS = Limits(timeout_s=20, max_chars=5_000_000)
#: Small text is read in this process; these are far over what 64 KB ever takes.
IN_PROCESS_SECONDS = 5
#: A PDF page that takes pypdf seconds: 30,000 text operators in a 1 MB content stream.
HEAVY_PAGE = b"BT /F1 12 Tf 72 720 Td " + b"(Hello world again) Tj 0 -14 Td\n" * 30_000 + b"ET"


def _read(case: Case) -> str:
    """Read a case as ingest would; the outcome's status, after checking the property."""
    if reads_in_process(case.suffix, len(case.data)):
        started = time.monotonic()
        try:
            load_bounded(case.data, "fuzz" + case.suffix, limits=LIMITS)
            status = "ok"
        except ReaderFailed:
            raise
        except IngestError as exc:
            assert str(exc), "a named error says why"
            status = "error"
        assert time.monotonic() - started < IN_PROCESS_SECONDS
        return status
    outcome = reader_pool().read(case.data, "fuzz" + case.suffix, case.suffix, limits=LIMITS)
    assert outcome.status not in ("unexpected", "crash"), f"{outcome.error}\n{outcome.detail}"
    assert outcome.seconds < LIMITS.timeout_s + 5
    if outcome.status != "ok":
        assert isinstance(outcome.error, IngestError) and str(outcome.error)
    return outcome.status


@settings(
    max_examples=600,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(case=fuzz_cases())
def test_loaders_end_in_a_document_or_a_named_error(case: Case) -> None:
    note(f"{case.origin} read as {case.suffix}, {len(case.data):,} bytes")
    _read(case)


@pytest.mark.parametrize("suffix", sorted(LOADERS))
def test_every_seed_under_every_suffix(suffix: str) -> None:
    """PDF bytes named .docx, DOCX named .md...: a document or a named error, every time."""
    for kind, files in seeds().items():
        for data in files:
            assert _read(Case(data, suffix, f"{kind} seed", kind)) in ("ok", "error"), kind


def test_docx_bomb_is_refused_in_seconds() -> None:
    bomb = docx_bomb(gib=3)  # 3.2 MB of zip
    started = time.monotonic()
    with pytest.raises(TooLarge, match=r"unpacks to 3,07\d MiB, more than the limit of 200 MiB"):
        load_bounded(bomb, "bomb.docx", limits=LIMITS)
    assert time.monotonic() - started < 10


def test_docx_whose_directory_understates_its_size_is_not_inflated() -> None:
    """The directory says 1,000 bytes, the data inflates to 1 GiB: zipfile stops at 1,000."""
    started = time.monotonic()
    with pytest.raises(CorruptFile):
        load_bounded(docx_bomb(gib=1, declared=1000), "liar.docx", limits=LIMITS)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("count", [None, 1], ids=["count-true", "count-lies"])
def test_pdf_of_100000_pages_is_refused_in_seconds(count: int | None) -> None:
    pdf = pdf_of_pages(100_000, b"BT /F1 12 Tf 72 720 Td (One page of many) Tj ET", count=count)
    started = time.monotonic()
    with pytest.raises(TooLarge, match="the limit of 2,000"):
        load_bounded(pdf, "long.pdf", limits=LIMITS)
    assert time.monotonic() - started < 15


def test_a_file_that_stalls_the_parser_is_cut_by_the_time_limit() -> None:
    stall = pdf_of_pages(200, HEAVY_PAGE, compress=True)  # 200 pages of 5 s each, 60 KB
    started = time.monotonic()
    with pytest.raises(TooLarge, match="took longer than 2 s"):
        load_bounded(stall, "stall.pdf", limits=Limits(timeout_s=2))
    assert time.monotonic() - started < 8
    assert load_bounded(seeds()["pdf"][0], "after.pdf").blocks  # a fresh reader took over


def test_a_file_that_needs_too_much_memory_is_cut_by_the_memory_limit() -> None:
    tiny = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 1_000_000  # 35 MB of XML, 100 KB zipped
    docx = docx_with_body(tiny)
    with pytest.raises(TooLarge, match="needed more than 300 MB of memory"):
        load_bounded(docx, "many.docx", limits=Limits(memory_mb=300, timeout_s=60))
    assert load_bounded(seeds()["docx"][0], "after.docx").blocks


def test_a_reader_that_dies_costs_one_file() -> None:
    pool = reader_pool()
    stall = pdf_of_pages(20, HEAVY_PAGE, compress=True)
    result: list[object] = []
    thread = threading.Thread(
        target=lambda: result.append(pool.read(stall, "s.pdf", ".pdf", limits=Limits(timeout_s=60)))
    )
    thread.start()
    time.sleep(1.0)
    busy = [r for r in pool._all if r not in pool._idle]
    assert busy, "the reader is at work"
    os.kill(busy[0].proc.pid, signal.SIGSEGV)  # what a crash in a C parser looks like
    thread.join(timeout=30)
    [outcome] = result
    assert outcome.status == "crash"
    with pytest.raises(CorruptFile, match="crashed on it"):
        outcome.result()
    assert load_bounded(seeds()["html"][0], "after.html").blocks


def test_ingest_refuses_hostile_files_and_keeps_the_rest(tmp_path: Path) -> None:
    """Through the pipeline: each hostile file is one failed line, the others are stored."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text("Harbour memo\n\nThe strike at the harbour ended on Monday.")
    (folder / "bomb.docx").write_bytes(docx_bomb(gib=3))
    (folder / "stall.pdf").write_bytes(pdf_of_pages(200, HEAVY_PAGE, compress=True))
    assistant = Assistant(Settings(data_dir=tmp_path / "data", load_timeout_s=3))
    report = assistant.ingest([folder])
    failed = {Path(r.source).name: r.reason or "" for r in report.results if r.status == "failed"}
    assert set(failed) == {"bomb.docx", "stall.pdf"}
    assert "unpacks to" in failed["bomb.docx"] and "took longer than 3 s" in failed["stall.pdf"]
    assert [d.title for d in assistant.documents()] == ["Harbour memo"]
    assert assistant.search("When did the strike end?", k=1)


def test_a_folder_with_its_own_ingest_module_does_not_break_the_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A user who runs ``brief`` in a folder holding an ingest.py (a script of their own) must
    # still get their PDF read: the reader process imports our package, not theirs.
    (tmp_path / "ingest.py").write_text("raise SystemExit('not the real ingest package')\n")
    monkeypatch.chdir(tmp_path)
    pool = ReaderPool(size=1)
    try:
        outcome = pool.read(seeds()["pdf"][0], "report.pdf", ".pdf")
        assert outcome.extracted is not None and outcome.extracted.blocks, outcome
    finally:
        pool.close()
