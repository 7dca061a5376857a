"""End-to-end QA on SQuAD 2.0 dev500 with the learned reader (``BRIEF_ANSWERER=reader``).

Each of the 411 distinct paragraphs is a ``.txt`` document. Every question goes through
``Assistant.ask``; the reader's readings behind each answer are kept, so that what the answer
would be if it were given, and its margin, can be scored apart from the decision to abstain.
Nothing here is fitted: the reader was trained and its threshold calibrated on other data
(``train/qa_reader.py``, ``bench/heldout.py``). The questions are split in two halves by a
seeded draw, as in the benchmark before the reader; the report half is reported (the fit half
beside it, since nothing is fitted on it any more).

(a) All paragraphs ingested. For answerable questions: the share whose first citation is the
    gold paragraph, whose answer text contains a gold answer, and whose short answer contains
    one (SQuAD normalisation; each as the answer would be if it were not abstained on). For
    unanswerable ones: the share abstained on at the margin below which 10% of answerable ones
    are abstained on (a point of the curve), and at the shipped threshold.
(b) Absent evidence: a seeded random half of the paragraphs in a collection of its own (seeds
    4-6); the answerable questions whose paragraph is missing must be abstained on: the share
    that is, at the margin that abstains on 10% of those whose paragraph is there, and at the
    shipped threshold.

    .venv/bin/python bench/qa_reader.py [--before REVISION]

``--before`` first runs ``bench/qa.py`` as it was at REVISION (in a temporary worktree: the
answerer before the reader, with its own fitting) and reports its figures beside these.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

# first: offline settings, import path
from common import RESULTS, SHARED, need_shared, run_at, tap_readings, use_reader
from qa import normalize  # SQuAD's answer normalisation, as the answerer before is scored

from assistant.answering import windows
from assistant.core import Assistant
from assistant.settings import Settings

SQUAD = SHARED / "eval" / "squad2_dev500"
HALF_SEEDS = (4, 5, 6)
MAX_WRONG_ABSTAIN = 0.10


@dataclass
class Case:
    """One question asked of one collection, scored as its answer would be if given."""

    qid: str
    impossible: bool
    present: bool
    split: str  # "fit" or "report"
    setting: str  # "all" or "half-<seed>"
    margin: float
    first_doc: str | None
    gold_doc: str
    in_answer: bool
    in_short: bool
    abstained: bool
    ms: float


def ask_all(
    a: Assistant,
    collection: str,
    queries: list[dict[str, Any]],
    truth: dict[str, Any],
    doc_of: dict[str, str],
    present: set[str],
    setting: str,
    fit_ids: set[str],
    only_answerable: bool = False,
) -> list[Case]:
    threshold = a.responder.reader.calibration.threshold
    cases = []
    with tap_readings(a) as seen:
        for row in queries:
            gold = truth[row["id"]]
            if only_answerable and gold["is_impossible"]:
                continue
            golds = [normalize(x) for x in gold["answers"] if normalize(x)]
            if seen is not None:
                seen.clear()
            started = time.perf_counter()
            answer = a.ask(row["question"], collection=collection)
            ms = (time.perf_counter() - started) * 1000
            readings = seen[-1] if seen else []
            best = readings[0] if readings else None
            # the answer as it would be if given (``Responder.compose_read``)
            quoted = [
                r.window.passage.at(*r.sentence()) for r in windows.quoted(readings, threshold)
            ]
            short = best.span if best else ""
            gold_doc = doc_of[row["context"]]
            cases.append(
                Case(
                    qid=row["id"],
                    impossible=gold["is_impossible"],
                    present=gold_doc in present,
                    split="fit" if row["id"] in fit_ids else "report",
                    setting=setting,
                    margin=best.combined if best else float("-inf"),
                    first_doc=best.window.passage.doc_id if best else None,
                    gold_doc=gold_doc,
                    in_answer=any(g in normalize(" ".join(quoted)) for g in golds),
                    in_short=bool(short) and any(g in normalize(short) for g in golds),
                    abstained=answer.abstained,
                    ms=ms,
                )
            )
    return cases


def rate(values: list[bool]) -> float | None:
    return round(float(np.mean(values)), 3) if values else None


def on_curve(positives: list[float], negatives: list[float]) -> float | None:
    """Share of ``negatives`` below the margin under which ``MAX_WRONG_ABSTAIN`` of
    ``positives`` fall."""
    if not positives:
        return None
    limit = sorted(positives)[int(np.floor(MAX_WRONG_ABSTAIN * len(positives)))]
    return rate([m < limit for m in negatives])


def report_a(group: list[Case]) -> dict[str, Any]:
    ans = [c for c in group if not c.impossible]
    imp = [c for c in group if c.impossible]
    return {
        "answerable": len(ans),
        "unanswerable": len(imp),
        "first_citation_is_gold_paragraph": rate([c.first_doc == c.gold_doc for c in ans]),
        "answer_contains_gold": rate([c.in_answer for c in ans]),
        "short_contains_gold": rate([c.in_short for c in ans]),
        "unanswerable_abstained_at_10pct_on_curve": on_curve(
            [c.margin for c in ans], [c.margin for c in imp]
        ),
        "unanswerable_abstained": rate([c.abstained for c in imp]),
        "answerable_wrongly_abstained": rate([c.abstained for c in ans]),
    }


def report_b(group: list[Case]) -> dict[str, Any]:
    present = [c for c in group if c.present]
    absent = [c for c in group if not c.present]
    return {
        "cases": len(group),
        "absent_abstained_at_10pct_on_curve": on_curve(
            [c.margin for c in present], [c.margin for c in absent]
        ),
        "absent_abstained": rate([c.abstained for c in absent]),
        "present_wrongly_abstained": rate([c.abstained for c in present]),
    }


def run(weights: Path | None = None) -> dict[str, Any]:
    queries = json.loads((SQUAD / "queries.json").read_text())["queries"]
    truth = json.loads((SQUAD / "ground_truth.json").read_text())
    contexts = list(dict.fromkeys(q["context"] for q in queries))
    ids = [q["id"] for q in queries]
    fit_ids = set(random.Random(0).sample(ids, len(ids) // 2))  # the split of earlier runs
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "paragraphs"
        folder.mkdir()
        for i, text in enumerate(contexts):
            (folder / f"{i:04d}.txt").write_text(text)
        a = Assistant(Settings(data_dir=Path(tmp) / "data", answerer="reader"))
        if weights:
            use_reader(a, weights)
        a.ingest([folder], collection="all")
        doc_of = {contexts[int(Path(d.source).stem)]: d.doc_id for d in a.documents("all")}
        a.ask("warm up", collection="all")
        cases = ask_all(a, "all", queries, truth, doc_of, set(doc_of.values()), "all", fit_ids)
        for seed in HALF_SEEDS:
            half = random.Random(seed).sample(range(len(contexts)), len(contexts) // 2)
            a.ingest([folder / f"{i:04d}.txt" for i in half], collection=f"half{seed}")
            present = {doc_of[contexts[i]] for i in half}
            cases += ask_all(
                a, f"half{seed}", queries, truth, doc_of, present, f"half-{seed}", fit_ids, True
            )
    by = {
        (s, sp): [c for c in cases if c.setting.startswith(s) and c.split == sp]
        for s in ("all", "half")
        for sp in ("fit", "report")
    }
    ms = [c.ms for c in cases]
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "questions": len(queries),
        "paragraphs": len(contexts),
        "a_all_paragraphs": {sp: report_a(by[("all", sp)]) for sp in ("fit", "report")},
        "b_absent_evidence": {sp: report_b(by[("half", sp)]) for sp in ("fit", "report")},
        "ask_latency_ms": {
            "p50": round(float(np.percentile(ms, 50)), 1),
            "p95": round(float(np.percentile(ms, 95)), 1),
        },
    }


#: (section, figure in this benchmark, the same figure in the benchmark before the reader)
COMPARED = [
    ("a_all_paragraphs", "first_citation_is_gold_paragraph", "first_citation_is_gold_paragraph"),
    ("a_all_paragraphs", "answer_contains_gold", "answer_contains_gold"),
    ("a_all_paragraphs", "short_contains_gold", "short_contains_gold"),
    (
        "a_all_paragraphs",
        "unanswerable_abstained_at_10pct_on_curve",
        "unanswerable_abstained_at_10pct_on_curve",
    ),
    ("b_absent_evidence", "absent_abstained_at_10pct_on_curve", "absent_abstained"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REVISION", help="the baseline, run first")
    parser.add_argument("--weights", type=Path, help="reader weights other than the shipped")
    parser.add_argument("--out", default="qa_reader.json", help="file name in bench/results")
    args = parser.parse_args()
    need_shared(SQUAD / "queries.json", SQUAD / "ground_truth.json")
    before = run_at(args.before, "qa.py", [], "qa.json") if args.before else None
    result = run(args.weights)
    if before:
        result["before"] = {
            "revision": args.before,
            **{k: before[k] for k in before if k[:2] in ("a_", "b_")},
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if before:
        print(f"\nreport half{'':22}{args.before[:10]:>12}{'now':>12}")
        for section, key, old_key in COMPARED:
            old = before[section]["report"].get(old_key)
            now = result[section]["report"].get(key)
            print(f"{key:42}{old!s:>12}{now!s:>12}")


if __name__ == "__main__":
    main()
