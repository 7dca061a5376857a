"""Answerers on documents like ours that nothing was trained or tuned on: ``bench/data/docs``.

Eight short documents written for this benchmark alone (a council transport memo, board
minutes, a court report, a university press release, a charity's annual report, a utility's
incident report, a fishing-quota policy brief, a football club news item; made-up people,
organisations and places; ``bench/data/docs/README.md``), with questions of four kinds in
``bench/data/docs/questions.jsonl``, written before any answerer was run on them:

- ``fact``: who/which/where/when/how much/how many, in roughly the text's words;
- ``paraphrase``: the same asked in other words (an affiliation, a comparison, a role held
  for now, a synonym);
- ``near``: on the document's topic, and the document gives something close but never the
  answer (the interim holder but not the permanent one, the whole but not a part, the current
  holder but not the previous one, another year's figure);
- ``off``: general knowledge unrelated to every document (``doc`` is ``*``).

Right, as in ``tests/pending/test_reader_answers.py``: a fact or paraphrase is answered right
when the answer does not abstain and some citation's quote holds the ``sentence`` words
(whitespace aside), its short answer right when ``answer.short`` holds the ``short`` words;
a near or off question is right when the answer abstains.

Each question is asked in two settings: ``all`` (the eight documents in one collection) and
``single`` (its document alone in a collection of its own; the off questions in two of them,
``OFF_SINGLES``). This is where an answerer (the rules, or reader weights) is chosen; the
acceptance tests in ``tests/pending`` then check the choice on their own three documents.

Each reader row also records its best reading (``reading``: margin, score, threshold, the
passage's cosine, the span, whether its window holds the expected sentence), to see why it
answered or abstained; never to set a threshold or a weight.

Corrections to questions after a run: none so far. (A question may be fixed only when it is
wrong, e.g. a near question the document does answer; say so here, with the reason.)

    .venv/bin/python bench/docs.py --both --label shipped
    .venv/bin/python bench/docs.py --weights train/.ckpt/reader.npz --label mine
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

# first: offline settings, import path
from common import REPO, RESULTS, cpu, tap_readings, use_reader

DOCS = REPO / "bench" / "data" / "docs"
QUESTIONS = DOCS / "questions.jsonl"
ALL = "docs"
#: The single-document collections the off questions are also asked in.
OFF_SINGLES = ("calderbrook-bus-priority-memo.txt", "quarrington-athletic-manager.txt")
KINDS = ("fact", "paraphrase", "near", "off")
SETTINGS = ("all", "single")
#: The table's lines: (name, kind, the record's field that counts).
LINES = (
    ("fact right", "fact", "right"),
    ("fact short", "fact", "short_right"),
    ("paraphrase right", "paraphrase", "right"),
    ("paraphrase short", "paraphrase", "short_right"),
    ("near abstained", "near", "right"),
    ("off abstained", "off", "right"),
    ("overall", None, "right"),
)


def squash(text: str) -> str:
    return " ".join(text.split())


def read_questions() -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in QUESTIONS.read_text("utf-8").splitlines() if x.strip()]
    for q in rows:
        if q["kind"] not in KINDS:
            raise ValueError(f"unknown kind {q['kind']!r}: {q['question']}")
        if q["kind"] in ("fact", "paraphrase"):
            text = (DOCS / q["doc"]).read_text("utf-8")
            if q["sentence"] not in text or q["short"] not in q["sentence"]:
                raise ValueError(f"sentence/short not in {q['doc']}: {q['question']}")
    return rows


def collection_of(doc: str) -> str:
    """The collection that holds ``doc`` alone: its file name's stem (a valid name)."""
    return Path(doc).stem[:63].rstrip("-_")


def load(assistant: Any, docs: list[str]) -> None:
    """All ``docs`` in collection ``ALL``, and each alone in its own collection."""
    started = time.perf_counter()
    report = assistant.ingest([DOCS / d for d in docs], collection=ALL)
    if not report.ok:
        sys.exit(f"ingest failed: {report.summary()}")
    for d in docs:
        report = assistant.ingest([DOCS / d], collection=collection_of(d))
        if not report.ok:
            sys.exit(f"ingest of {d} failed: {report.summary()}")
    print(f"ingested {len(docs)} documents in {time.perf_counter() - started:.0f} s", flush=True)


def todo(questions: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, str]]:
    """(question, setting, collection) for every question asked."""
    out = []
    for q in questions:
        out.append((q, "all", ALL))
        if q["kind"] != "off":
            out.append((q, "single", collection_of(q["doc"])))
        else:
            out.extend((q, "single", collection_of(d)) for d in OFF_SINGLES)
    return out


def ask(assistant: Any, name: str, asked: list[tuple[dict[str, Any], str, str]]) -> list:
    assistant.warm_up(ALL)  # models loaded before the first timed question
    # The reader's best reading behind each answer (to see why it answered or abstained)
    with tap_readings(assistant) as tapped:
        return _asked(assistant, name, asked, tapped)


def _asked(
    assistant: Any,
    name: str,
    asked: list[tuple[dict[str, Any], str, str]],
    tapped: list[list[Any]] | None,
) -> list:
    responder = assistant.responder
    rows = []
    for i, (q, setting, collection) in enumerate(asked, 1):
        if tapped is not None:
            tapped.clear()
        started = time.perf_counter()
        answer = assistant.ask(q["question"], collection=collection)
        ms = (time.perf_counter() - started) * 1000
        row: dict[str, Any] = {
            "doc": q["doc"],
            "setting": setting,
            "collection": collection,
            "question": q["question"],
            "kind": q["kind"],
            "abstained": answer.abstained,
            "answer": answer.text[:300],
            "short": answer.short,
            "ms": round(ms, 1),
        }
        if tapped and tapped[-1]:
            best = tapped[-1][0]
            row["reading"] = {
                "margin": round(best.margin, 2),
                "score": round(max(best.score, best.combined), 2),
                "threshold": round(responder.reader.calibration.threshold, 2),
                "cosine": round(best.window.passage.dense or 0.0, 3),
                "span": best.span,
                "window_has_sentence": q.get("sentence", "\0") in squash(best.window.text),
            }
        if q["kind"] in ("fact", "paraphrase"):
            quotes = [squash(c.quote) for c in answer.citations]
            row["right"] = not answer.abstained and any(q["sentence"] in x for x in quotes)
            row["short_right"] = bool(answer.short) and q["short"] in squash(answer.short or "")
        else:
            row["right"] = answer.abstained
        rows.append(row)
        if i % 20 == 0:
            print(f"[{name}] {i}/{len(asked)}", flush=True)
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per setting (and both together): each table line as right, of, share."""
    out: dict[str, dict[str, Any]] = {}
    for setting in (*SETTINGS, "both"):
        mine = [r for r in rows if setting == "both" or r["setting"] == setting]
        figures = {}
        for line, kind, field in LINES:
            xs = [bool(r[field]) for r in mine if kind is None or r["kind"] == kind]
            figures[line] = {
                "right": sum(xs),
                "of": len(xs),
                "share": round(sum(xs) / len(xs), 3) if xs else None,
            }
        out[setting] = figures
    return out


def table(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    columns = [(n, s) for n in names for s in SETTINGS]
    print(f"\n{'':18}" + "".join(f"{f'{n} {s}':>16}" for n, s in columns))
    for line, _, _ in LINES:
        cells = []
        for n, s in columns:
            f = results[n]["totals"][s][line]
            cells.append(f"{f['right']}/{f['of']} {f['share'] or 0:.2f}")
        print(f"{line:18}" + "".join(f"{c:>16}" for c in cells))


def revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--answerer", choices=("rules", "reader"), default="reader", help="BRIEF_ANSWERER"
    )
    parser.add_argument("--both", action="store_true", help="rules and reader side by side")
    parser.add_argument(
        "--weights", type=Path, help="reader weights (.npz, its .json beside) for the reader"
    )
    parser.add_argument("--label", help="writes bench/results/docs_<label>.json")
    args = parser.parse_args()
    answerers: list[Literal["rules", "reader"]] = (
        ["rules", "reader"] if args.both else [args.answerer]
    )
    if args.weights and "reader" not in answerers:
        parser.error("--weights is for the reader")
    label = args.label or ("both" if args.both else args.answerer)

    from assistant.core import Assistant
    from assistant.settings import Settings

    questions = read_questions()
    docs = sorted({q["doc"] for q in questions if q["doc"] != "*"})
    asked = todo(questions)
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        for name in answerers:  # each its own store: nothing shared but the cached models
            assistant = Assistant(Settings(data_dir=Path(tmp) / name, answerer=name, llm=None))
            if name == "reader" and args.weights:
                use_reader(assistant, args.weights)
            load(assistant, docs)
            began = time.perf_counter()
            rows = ask(assistant, name, asked)
            results[name] = {
                "weights": str(args.weights) if name == "reader" and args.weights else None,
                "seconds": round(time.perf_counter() - began, 1),
                "totals": totals(rows),
                "rows": rows,
            }
    table(results)
    seconds = time.perf_counter() - started
    print(f"\n{len(asked)} questions asked of each answerer; {seconds:.0f} s in all")
    out = {
        "label": label,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": revision(),
        "cpu": cpu()[0],
        "documents": docs,
        "seconds": round(seconds, 1),
        "answerers": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"docs_{label}.json"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"written {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
