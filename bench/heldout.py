"""The offline answerer on news it was never trained or tuned on: the held-out 2025 weeks.

``train/qa_data.py`` never reads the RealTime QA weeks from 2025-07-01 on. They are split in two
halves by date, each ingested as one collection (13 weeks, 650 articles: more than a dev week,
so retrieval is tested at size):

- ``calibrate`` (July to September): where the reader's threshold and confidence curve are
  fitted (``--calibrate`` writes ``assistant/answering/reader.json``);
- ``report`` (October to December): reported only.

Questions asked of a half's collection: answerable ones (the answer string occurs in the
collection; right = not abstained and the answer in the answer text and in a citation's
quote, the comparison of ``bench/news.py``) and absent ones (the answer occurs nowhere in the
collection: the half's own quiz questions whose answer the week's articles lack, whose topic
is often there, and the other half's; right = abstained).

It uses ``Assistant``'s public API only, so the same file runs in a checkout of an older
commit: ``--label before`` there, ``--label after`` here, and ``--table`` prints both side by
side from ``bench/results/heldout_<label>.json``.

    .venv/bin/python bench/heldout.py --label after [--calibrate]
    .venv/bin/python bench/heldout.py --table before after
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

# first: offline settings, import path
from common import REPO, RESULTS, SHARED, need_shared, tap_readings, use_reader

try:  # what makes two readings one answer; a checkout older than it combines none
    from assistant.answering.windows import answer_key, answer_scores
except ImportError:  # pragma: no cover - older checkouts only

    def answer_key(text: str) -> str:
        return ""

    def answer_scores(keys: list[str], scores: list[float]) -> list[float]:
        return scores


WEEKS = SHARED / "train" / "realtimeqa_weeks"
HELD_OUT_FROM = "20250701"
REPORT_FROM = "20251001"
DEFAULT_STORE = REPO / "bench" / ".cache" / "heldout"

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def norm(text: str) -> str:
    return " ".join(text.translate(_QUOTES).lower().split())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def halves() -> dict[str, list[str]]:
    weeks = sorted(
        p.name for p in WEEKS.iterdir() if p.name[:8].isdigit() and p.name >= HELD_OUT_FROM
    )
    return {
        "calibrate": [w for w in weeks if w < REPORT_FROM],
        "report": [w for w in weeks if w >= REPORT_FROM],
    }


def ensure_store(assistant: Any, store: Path, name: str, weeks: list[str]) -> list[dict[str, Any]]:
    """The half's articles ingested as collection ``name``, from files kept beside the store
    (a document's id is its file's path, so a rerun finds them unchanged)."""
    articles = [a for w in weeks for a in read_jsonl(WEEKS / w / "articles.jsonl")]
    folder = store.parent / f"{store.name}-files" / name
    folder.mkdir(parents=True, exist_ok=True)
    for art in articles:  # an article of two weeks is one file
        title = " ".join((art.get("title") or "").split()) or "Untitled"
        path = folder / f"{art['id']}.txt"
        if not path.exists():
            path.write_text(f"{title}\n\n{art['text']}\n", "utf-8")
    started = time.perf_counter()
    report = assistant.ingest([folder], collection=name)
    print(f"[{name}] {report.summary()} in {time.perf_counter() - started:.0f} s", flush=True)
    return articles


def questions(name: str, split: dict[str, list[str]], articles: list[dict[str, Any]]) -> list:
    haystack = "\n".join(norm(a.get("title") or "") + "\n" + norm(a["text"]) for a in articles)
    other = next(k for k in split if k != name)
    out = []
    for half in (name, other):
        for w in split[half]:
            for q in read_jsonl(WEEKS / w / "questions.jsonl"):
                present = norm(q["answer"]) in haystack
                if half == name and q.get("answer_in_collection") and present:
                    out.append((q, "answerable"))
                elif not present:
                    out.append((q, "absent"))
    return out


def run(assistant: Any, name: str, todo: list) -> list[dict[str, Any]]:
    """Each question of ``todo`` asked of collection ``name``, with the readings behind it."""
    with tap_readings(assistant) as tapped:
        return _asked(assistant, name, todo, tapped)


def _asked(
    assistant: Any, name: str, todo: list, tapped: list[list[Any]] | None
) -> list[dict[str, Any]]:
    assistant.ask("What happened this week?", collection=name)  # warm-up, untimed
    rows = []
    for i, (q, kind) in enumerate(todo, 1):
        if tapped is not None:
            tapped.clear()
        started = time.perf_counter()
        answer = assistant.ask(q["question"], collection=name)
        ms = (time.perf_counter() - started) * 1000
        gold = norm(q["answer"])
        readings = tapped[-1] if tapped else []
        row = {
            "id": q["id"],
            "kind": kind,
            "question": q["question"],
            "gold": q["answer"],
            "abstained": answer.abstained,
            "answer": answer.text,
            "short": getattr(answer, "short", None),
            "ms": round(ms, 1),
            # a reading's score where it has one (before it, its margin decided)
            "margin": getattr(readings[0], "combined", readings[0].margin) if readings else None,
            "read": gold in " ".join(norm(r.window.text) for r in readings)
            if tapped is not None
            else None,
        }
        if readings:  # every window's best span, for fitting how they are ranked
            row["readings"] = [_reading(r, gold) for r in readings]
        if kind == "answerable":
            in_text = gold in norm(answer.text)
            in_quote = any(gold in norm(c.quote) for c in answer.citations)
            row["right_if_answered"] = in_text and in_quote
            row["right"] = (not answer.abstained) and in_text and in_quote
            row["short_has_answer"] = bool(row["short"]) and gold in norm(row["short"] or "")
        else:
            row["right"] = answer.abstained
        rows.append(row)
        if i % 25 == 0:
            print(f"[{name}] {i}/{len(todo)}", flush=True)
    return rows


def _reading(r: Any, gold: str) -> dict[str, Any]:
    """One window's best span: its margin, the first pass's and retrieval's scores, and
    whether its sentence and its span hold the gold answer."""
    passage = r.window.passage
    a, b = r.sentence()
    sentence = passage.text[a - passage.start : b - passage.start]
    span = passage.text[r.start - passage.start : r.end - passage.start]
    return {
        "margin": round(r.margin, 4),
        "window": round(r.window.score, 4),
        "passage": round(passage.score, 4),
        "dense": round(passage.dense or 0.0, 4),
        "sentence_has": gold in norm(sentence),
        "span_has": gold in norm(span),
        "span": span,
        "doc": passage.doc_id,
    }


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["kind"] == "answerable"]
    absent = [r for r in rows if r["kind"] == "absent"]
    ms = sorted(r["ms"] for r in rows)

    def share(xs: list[bool]) -> float | None:
        return round(sum(xs) / len(xs), 3) if xs else None

    out = {
        "answerable": len(ans),
        "absent": len(absent),
        "answered_right": share([r["right"] for r in ans]),
        "short_has_answer": share([r["short_has_answer"] for r in ans]),
        "absent_abstained": share([r["right"] for r in absent]),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1) if ms else None,
    }
    if ans and ans[0]["read"] is not None:
        out["answer_in_windows_read"] = share([bool(r["read"]) for r in ans])
    return out


#: The retrieval's evidence a reading's score adds to its margin (``Calibration.score``): the
#: cosine of its passage with the question only. The first pass's and the fused retrieval
#: scores also hold BM25's and the key terms' share, whose scale moves with the collection's
#: word statistics (one short document against 650 articles), and the threshold is fitted on
#: one collection size; a cosine means the same in any collection.
FEATURES: tuple[str, ...] = ("dense",)


def _best_answer(
    r: dict[str, Any], weights: dict[str, float]
) -> tuple[float, dict[str, Any], list[tuple[float, dict[str, Any]]]] | None:
    """A question's readings scored with ``weights`` (``Calibration.score``), and its best
    answer as the product combines readings of one answer (``windows.combine``): that
    answer's score, its best reading, and every (score, reading); None without readings."""
    scored = [
        (q["margin"] + sum(w * q[f] for f, w in weights.items()), q)
        for q in r.get("readings") or []
    ]
    if not scored:
        return None
    # one reading of an answer per document (rows recorded before "doc" was: each its own)
    docs = [str(q.get("doc", f"#{k}")) for k, (_, q) in enumerate(scored)]
    totals = answer_scores(
        [answer_key(q.get("span", "")) for _, q in scored], [score for score, _ in scored], docs
    )
    total, _, top = max(
        ((t, score, q) for t, (score, q) in zip(totals, scored, strict=True)),
        key=lambda x: (x[0], x[1]),
    )
    return total, top, scored


def calibrate(
    rows: list[dict[str, Any]], target_absent: float = 0.95, features: tuple[str, ...] = FEATURES
) -> dict[str, Any]:
    """How readings are scored (``Calibration.score``): a logistic fit, over every reading of
    every question, of "its sentence holds the answer" on its margin and ``features`` (its
    window's first-pass score, its passage's retrieval score, its passage's cosine), their
    weights taken relative to the margin's. With the readings ranked by that score: the
    threshold, the lowest best score that abstains on ``target_absent`` of the absent
    questions; the confidence curve, a logistic fit of "the best reading's sentence holds the
    answer" on the best score."""
    x, y = [], []
    for r in rows:
        for reading in r.get("readings") or []:
            x.append([reading["margin"], *(reading[f] for f in features)])
            y.append(1.0 if r["kind"] == "answerable" and reading["sentence_has"] else 0.0)
    coef = _logistic_fit(np.array(x), np.array(y))
    weights = {f: float(coef[i + 1] / coef[0]) for i, f in enumerate(features)}

    def best(r: dict[str, Any]) -> tuple[float, bool] | None:
        """The best answer's score and whether its best reading's sentence holds the gold."""
        found = _best_answer(r, weights)
        if found is None:
            return None
        total, top, _ = found
        return total, r["kind"] == "answerable" and top["sentence_has"]

    tops = [(r, best(r)) for r in rows]
    threshold = threshold_at(
        [b[0] for r, b in tops if r["kind"] == "absent" and b is not None], target_absent
    )
    pairs = [(b[0], 1.0 if b[1] else 0.0) for _, b in tops if b is not None]
    slope, intercept = _logistic(pairs)
    return {
        "threshold": round(threshold, 4),
        "slope": round(slope, 4),
        "intercept": round(intercept, 4),
        "weights": {k: round(v, 4) for k, v in weights.items()},
    }


def threshold_at(absent: list[float], target: float) -> float:
    """The lowest score that abstains on ``target`` of the absent questions whose best scores
    are ``absent``: just above the one that ``target`` of them reach."""
    ordered = sorted(absent)
    k = min(len(ordered) - 1, math.ceil(target * len(ordered)) - 1)
    return ordered[k] + 1e-3


def at_calibration(rows: list[dict[str, Any]], fitted: dict[str, Any]) -> dict[str, Any]:
    """The half's figures replayed from its readings at the calibration ``fitted``, as the
    product would compose them (``compose_read``: the best answer's best reading, and the best
    other reading when it also clears the threshold): answered right (either sentence holds
    the answer), short answer holds it, absent abstained. On the calibrate half with its own
    fit, this is how readers trained differently compare, each at its own threshold."""
    weights = fitted.get("weights", {})
    right = short = absent_ok = 0
    for r in rows:
        found = _best_answer(r, weights)
        if found is None:
            absent_ok += r["kind"] == "absent"
            continue
        total, top, scored = found
        answered = total >= fitted["threshold"]
        if r["kind"] != "answerable":
            absent_ok += not answered
            continue
        other = max(((sc, q) for sc, q in scored if q is not top), default=None, key=lambda x: x[0])
        second = other is not None and other[0] >= fitted["threshold"] and other[1]["sentence_has"]
        right += answered and (top["sentence_has"] or second)
        short += answered and top["span_has"]
    answerable = sum(r["kind"] == "answerable" for r in rows)
    absent = len(rows) - answerable
    return {
        "answered_right": round(right / max(1, answerable), 3),
        "short_has_answer": round(short / max(1, answerable), 3),
        "absent_abstained": round(absent_ok / max(1, absent), 3),
    }


def _logistic_fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Coefficients of a logistic regression of ``y`` on the columns of ``x`` (standardised
    for the descent, returned on the original scale; the intercept dropped)."""
    mean, sd = x.mean(0), x.std(0) + 1e-9
    z = np.c_[(x - mean) / sd, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    for _ in range(3000):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0.0])
    return w[:-1] / sd


def _logistic(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    a, b = 1.0, 0.0
    for _ in range(2000):  # plain gradient descent on the log-loss: two parameters
        ga = gb = 0.0
        for x, y in pairs:
            p = 1.0 / (1.0 + math.exp(-(a * x + b)))
            ga += (p - y) * x
            gb += p - y
        a -= 0.05 * ga / len(pairs)
        b -= 0.05 * gb / len(pairs)
    return a, b


def table(labels: list[str]) -> None:
    data = {lab: json.loads((RESULTS / f"heldout_{lab}.json").read_text()) for lab in labels}
    keys = [
        "answered_right",
        "short_has_answer",
        "absent_abstained",
        "answer_in_windows_read",
        "p50_ms",
        "p95_ms",
        "answerable",
        "absent",
    ]
    for half in ("calibrate", "report"):
        print(f"\n{half}")
        print(f"{'figure':28}" + "".join(f"{lab:>12}" for lab in labels))
        for key in keys:
            vals = [data[lab]["halves"].get(half, {}).get(key) for lab in labels]
            print(f"{key:28}" + "".join(f"{'' if v is None else v:>12}" for v in vals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after")
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--calibrate", action="store_true", help="write reader.json")
    parser.add_argument("--halves", default="calibrate,report")
    parser.add_argument("--weights", type=Path, help="reader weights other than the shipped")
    parser.add_argument(
        "--answerer", choices=("rules", "reader"), default="reader", help="BRIEF_ANSWERER"
    )
    parser.add_argument("--table", nargs="+", metavar="LABEL")
    args = parser.parse_args()
    if args.table:
        table(args.table)
        return
    need_shared(WEEKS)
    from assistant.core import Assistant
    from assistant.settings import Settings

    assistant = Assistant(Settings(data_dir=args.store, answerer=args.answerer))
    if args.weights:
        use_reader(assistant, args.weights)
    split = halves()
    out: dict[str, Any] = {"label": args.label, "halves": {}, "rows": {}}
    for name in args.halves.split(","):
        articles = ensure_store(assistant, args.store, name, split[name])
        rows = run(assistant, name, questions(name, split, articles))
        out["halves"][name] = figures(rows)
        out["rows"][name] = rows
        print(name, json.dumps(out["halves"][name]), flush=True)
        if name == "calibrate" and args.calibrate:
            fitted = calibrate(rows)
            fitted["fitted_on"] = (
                "bench/heldout.py calibrate half (RealTime QA weeks 2025-07 to 09)"
            )
            reader = assistant.responder.reader
            if reader.calibration.shared:  # how the weights were trained, kept
                fitted["normalisation"] = "shared"
            reader.path.with_suffix(".json").write_text(json.dumps(fitted, indent=2) + "\n")
            reader.__dict__.pop("calibration", None)  # the report half reads the new values
            print("calibration", fitted, flush=True)
            out["halves"][name]["at_own_calibration"] = at_calibration(rows, fitted)
            print("at its own calibration", out["halves"][name]["at_own_calibration"], flush=True)
    (RESULTS / f"heldout_{args.label}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
