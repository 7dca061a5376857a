"""Fuzzing the loaders for minutes: every loader fed random and mutated files, figures recorded.

Hypothesis generates the cases of ``tests/fuzz_inputs.py`` (random bytes; mutations of real
PDF, DOCX, HTML, Markdown and text files, inside the formats too; now and then read under a
suffix of another format) and each is read the way ingest reads a file,
``ingest.sandbox``: small plain text in this process, everything else in a reader process
with a time and a memory limit, measuring the reader's peak memory for each file. Every
outcome is counted: a document, a named error (grouped by type and reason, numbers and
quoted bytes blurred), a file cut by the time or the memory limit, and what must never
happen: an exception that is not a named error, or a reader that died. Those two are saved
under ``bench/results/fuzz-failures/`` to replay. The caps are timed as well: a DOCX that
inflates to 3 GiB and a PDF of 100,000 pages (its ``/Count`` true, then lying).

Run from the repository root: ``.venv/bin/python bench/fuzz.py [--minutes M] [--files N]
[--seed S] [--timeout S] [--out PATH]`` (``make fuzz``). The time limit defaults to 20 s
rather than the product's 120 s, so that a stalled parser costs the run little.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from common import RESULTS  # first: offline settings, import path

from assistant.errors import IngestError
from ingest.sandbox import Limits, ReaderFailed, load_bounded, reader_pool, reads_in_process
from tests.fuzz_inputs import Case, docx_bomb, docx_with_body, fuzz_cases, pdf_of_pages

DEFAULT_OUT = RESULTS / "fuzz.json"
FAILURES = RESULTS / "fuzz-failures"
LIBRARIES = ("pypdf", "python-docx", "lxml", "trafilatura", "markdown-it-py", "hypothesis")


class _TimeUp(Exception):
    """Raised inside the hypothesis test to end the run."""


class Tally:
    """Everything the run counts."""

    def __init__(self) -> None:
        self.tried = 0
        self.outcomes: Counter[str] = Counter()
        self.by_format: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_suffix: Counter[str] = Counter()
        self.errors: dict[tuple[str, str], dict[str, Any]] = {}
        self.cut: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.failures: list[dict[str, Any]] = []
        self.seconds: list[float] = []
        self.slowest: dict[str, Any] = {"seconds": 0.0}
        self.biggest: dict[str, Any] = {"peak_mb": 0.0}

    def add(self, case: Case, status: str, seconds: float, peak_mb: float | None, error: Any):
        self.tried += 1
        self.outcomes[status] += 1
        self.by_format[case.kind][status] += 1
        self.by_suffix[case.suffix] += 1
        self.seconds.append(seconds)
        about = {"origin": case.origin, "read_as": case.suffix, "bytes": len(case.data)}
        if seconds > self.slowest["seconds"]:
            self.slowest = {"seconds": round(seconds, 2), "status": status, **about}
        if peak_mb and peak_mb > self.biggest["peak_mb"]:
            self.biggest = {"peak_mb": round(peak_mb, 1), "status": status, **about}
        if status == "error":
            key = (type(error).__name__, reason_pattern(str(error)))
            entry = self.errors.setdefault(key, {"count": 0, "example": about})
            entry["count"] += 1
        elif status in ("timeout", "memory"):
            if len(self.cut[status]) < 20:
                self.cut[status].append({**about, "reason": str(error)})
        elif status in ("unexpected", "crash"):
            FAILURES.mkdir(parents=True, exist_ok=True)
            path = FAILURES / f"{len(self.failures) + 1:03d}{case.suffix}"
            path.write_bytes(case.data)
            self.failures.append(
                {**about, "status": status, "error": str(error), "file": path.name}
            )


def reason_pattern(reason: str) -> str:
    """A reason with its particulars blurred, so that one kind of error counts once."""
    reason = re.sub(r"b?'[^']*'|b?\"[^\"]*\"", "'…'", reason)
    reason = re.sub(r"\d[\d,._]*", "N", reason)
    reason = re.sub(r"@N|\bN(?: N)+\b", "N", reason)
    return reason[:120]


def read_case(case: Case, limits: Limits) -> tuple[str, float, float | None, Any]:
    """(status, seconds, reader's peak MB, error) of reading one case as ingest does."""
    if reads_in_process(case.suffix, len(case.data)):
        started = time.monotonic()
        try:
            load_bounded(case.data, "fuzz" + case.suffix, limits=limits)
            status, error = "ok", None
        except ReaderFailed as exc:
            status, error = "unexpected", exc
        except IngestError as exc:
            status, error = "error", exc
        except Exception as exc:  # nothing may get here; counted if it does
            status, error = "unexpected", exc
        return status, time.monotonic() - started, None, error
    outcome = reader_pool().read(
        case.data, "fuzz" + case.suffix, case.suffix, limits=limits, measure=True
    )
    error = outcome.error
    if outcome.status in ("unexpected", "crash"):
        error = f"{outcome.error} | {outcome.detail.strip().splitlines()[-1:]}"
    return outcome.status, outcome.seconds, outcome.peak_mb, error


def fuzz(minutes: float, files: int | None, seed: int, limits: Limits, tally: Tally) -> float:
    """Run hypothesis until ``minutes`` pass or ``files`` are tried; returns the wall time."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from hypothesis.errors import HypothesisWarning

    # ending the run is an exception to hypothesis, which would then print the last case
    warnings.simplefilter("ignore", HypothesisWarning)

    started = time.monotonic()
    ends = started + minutes * 60

    @fixed_seed(seed)
    @settings(
        max_examples=files or 10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=fuzz_cases())
    def run(case: Case) -> None:
        if time.monotonic() > ends:
            raise _TimeUp
        tally.add(case, *read_case(case, limits))
        if tally.tried % 500 == 0:
            print(f"  {tally.tried:,} files, {dict(tally.outcomes)}", flush=True)

    with contextlib.suppress(_TimeUp):
        run()
    return time.monotonic() - started


def time_caps(limits: Limits) -> dict[str, Any]:
    """How fast the hostile files the caps exist for are refused, and the files found to stall
    a parser or to need too much memory, cut by the reader's limits."""
    content = b"BT /F1 12 Tf 72 720 Td (One page of many) Tj ET"
    heavy = b"BT /F1 12 Tf 72 720 Td " + b"(Hello world again) Tj 0 -14 Td\n" * 30_000 + b"ET"
    paragraphs = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 4_000_000
    files = {
        "docx_inflating_to_3_gib": (docx_bomb(gib=3), "bomb.docx"),
        "pdf_of_100000_pages": (pdf_of_pages(100_000, content), "long.pdf"),
        "pdf_of_100000_pages_count_says_1": (pdf_of_pages(100_000, content, count=1), "long.pdf"),
        "pdf_of_200_pages_sharing_a_1_mb_stream": (
            pdf_of_pages(200, heavy, compress=True),
            "stall.pdf",
        ),
        "docx_of_136_mb_of_tiny_paragraphs": (docx_with_body(paragraphs), "many.docx"),
        "markdown_of_64_kb_of_nested_quotes": (b">>\nendobj\n" * 6400, "quotes.md"),
    }
    caps = {}
    for label, (data, name) in files.items():
        started = time.monotonic()
        try:
            load_bounded(data, name, limits=limits)
            result = "read (the cap did not hold)"
        except IngestError as exc:
            result = f"{type(exc).__name__}: {exc}"
        caps[label] = {
            "bytes": len(data),
            "seconds": round(time.monotonic() - started, 2),
            "result": result,
        }
    return caps


def report(tally: Tally, wall: float, args: argparse.Namespace, limits: Limits) -> dict:
    errors = sorted(tally.errors.items(), key=lambda item: -item[1]["count"])
    seconds = sorted(tally.seconds) or [0.0]
    quantiles = statistics.quantiles(seconds, n=100) if len(seconds) > 1 else seconds * 99
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
        "python": platform.python_version(),
        "libraries": {name: version(name) for name in LIBRARIES},
        "run": {
            "minutes": args.minutes,
            "files": args.files,
            "seed": args.seed,
            "timeout_s": limits.timeout_s,
            "memory_mb": limits.memory_mb,
        },
        "files_tried": tally.tried,
        "wall_seconds": round(wall, 1),
        "files_per_second": round(tally.tried / wall, 1) if wall else 0,
        "crashes": tally.outcomes["crash"],
        "unexpected_exceptions": tally.outcomes["unexpected"],
        "hangs_cut_by_time_limit": tally.outcomes["timeout"],
        "cut_by_memory_limit": tally.outcomes["memory"],
        "outcomes": dict(tally.outcomes),
        "by_format": {kind: dict(counts) for kind, counts in sorted(tally.by_format.items())},
        "read_as_suffix": dict(sorted(tally.by_suffix.items())),
        "distinct_errors": len(errors),
        "errors": [{"type": kind, "reason": reason, **entry} for (kind, reason), entry in errors],
        "seconds_per_file": {
            "median": round(statistics.median(seconds), 3),
            "p95": round(quantiles[94], 3),
            "p99": round(quantiles[98], 3),
            "max": tally.slowest,
        },
        "max_peak_memory": tally.biggest,
        "timeouts": tally.cut["timeout"],
        "memory_refusals": tally.cut["memory"],
        "failures": tally.failures,
        "caps": time_caps(limits),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run")
    parser.add_argument("--files", type=int, default=None, help="stop after this many files")
    parser.add_argument("--seed", type=int, default=7, help="hypothesis seed")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per file")
    parser.add_argument("--memory-mb", type=int, default=1024, help="reader memory limit")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory_mb, max_chars=5_000_000)

    print(f"fuzzing the loaders for {args.minutes:g} min (seed {args.seed})", flush=True)
    tally = Tally()
    wall = fuzz(args.minutes, args.files, args.seed, limits, tally)
    result = report(tally, wall, args, limits)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{result['files_tried']:,} files in {result['wall_seconds']} s: "
        f"{result['distinct_errors']} distinct named errors, "
        f"{result['crashes']} crashes, {result['unexpected_exceptions']} unexpected exceptions, "
        f"{result['hangs_cut_by_time_limit']} cut by the time limit, "
        f"{result['cut_by_memory_limit']} by the memory limit -> {args.out}"
    )
    for label, cap in result["caps"].items():
        print(f"  {label}: {cap['seconds']} s, {cap['result']}")
    return 1 if result["crashes"] or result["unexpected_exceptions"] else 0


if __name__ == "__main__":
    sys.exit(main())
