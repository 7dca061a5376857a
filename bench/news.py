"""News QA on the RealTime QA dev weeks: answers, abstentions and ``Assistant.ask`` latency.

Each week of ``../shared/eval/realtimeqa_dev`` (ten weeks of 2023, 107-235 news articles each)
is ingested as a collection of its own: one text file per article, its title as the first line
(the text loader takes that line as the document's title). The week's quiz is asked of it:

- answerable (``answer_in_collection``): right = not abstained, and the answer string occurs
  in the answer text and in the quote of at least one citation. Strings are compared case-
  insensitively, with runs of white space as one space and curly quotes and apostrophes as
  straight ones; nothing else is normalised.
- absent evidence: the next week's questions (the last week takes the first week's) whose
  answer string occurs nowhere in this week's articles (titles and texts, the same comparison);
  right = abstained.

Also reported: how often the answer string is in any passage the answer was drawn from (what
retrieval makes possible: a ceiling for the answerer), and how often ``Answer.short`` holds it
(where the product has that field). Every ``ask`` is timed after one untimed warm-up question
per week (the first question of a collection builds its lexical index); p50 and p95 per week
and overall, with the CPU they were measured on.

The stores are kept under ``--cache`` (default ``bench/.cache/news``, git-ignored): a rerun
asks the questions again without ingesting. Delete the folder, or pass ``--reingest``, after a
change to ingest.

Run from the repository root:

    .venv/bin/python bench/news.py                  # all ten weeks, offline answerer
    .venv/bin/python bench/news.py --weeks 20230106,20230203

With a chat model (any OpenAI-compatible server), set the usual settings and pass ``--llm``:

    BRIEF_LLM=qwen2.5-7b-instruct BRIEF_LLM_BASE_URL=http://127.0.0.1:8080/v1 \\
        .venv/bin/python bench/news.py --llm

Without ``--llm`` the offline answerer is measured even if ``BRIEF_LLM`` is set. Figures go to
``bench/results/news.json`` (``news_llm.json`` with ``--llm``), and the first 20 wrong
answerable questions to ``bench/results/news_wrong.txt`` (``news_llm_wrong.txt``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from common import (  # first: offline settings, import path
    REPO,
    RESULTS,
    SHARED,
    cpu,
    need_shared,
    run_at,
)

from assistant.answering.answer import Answer
from assistant.core import Assistant
from assistant.settings import Settings

DEV = SHARED / "eval" / "realtimeqa_dev"
DEFAULT_CACHE = REPO / "bench" / ".cache" / "news"
#: Untimed, before a week's timed questions: about nothing in particular, so that it exercises
#: retrieval and the answerer without priming the cache for a question that is scored.
WARM_UP = "Who said what about the weather this week?"
WRONG_SHOWN = 20
#: Timed asks of the process left out of the steady-state latency figure.
PROCESS_WARM_UP = 30
#: Depth of the untimed ``Assistant.search`` that finds where the answer first appears.
DEEP_K = 20

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def norm(text: str) -> str:
    """The comparison form: lower case, straight quotes, single spaces."""
    return " ".join(text.translate(_QUOTES).lower().split())


def weeks_available() -> list[str]:
    """The week folders of the dev set, in date order."""
    return sorted(p.name for p in DEV.iterdir() if (p / "questions.jsonl").exists())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def collection_name(week: str) -> str:
    return f"news-{week}"


def ensure_store(assistant: Assistant, week: str) -> dict[str, Any]:
    """Ingest the week's articles into its collection unless the cache already holds them all.

    Returns what happened (documents, failures, seconds) for the report."""
    articles = read_jsonl(DEV / week / "articles.jsonl")
    name = collection_name(week)
    have = assistant.collections().get(name, 0)
    if have >= len(articles):
        print(f"[{week}] store cached: {have} documents", flush=True)
        return {"articles": len(articles), "documents": have, "cached": True}
    started = time.perf_counter()
    done = [0]

    def on_file(result: Any) -> None:
        done[0] += 1
        if done[0] % 25 == 0 or done[0] == len(articles):
            print(f"[{week}] ingested {done[0]}/{len(articles)}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / week
        folder.mkdir()
        for art in articles:
            title = " ".join((art.get("title") or "").split()) or "Untitled"
            (folder / f"{art['id']}.txt").write_text(f"{title}\n\n{art['text']}\n", "utf-8")
        report = assistant.ingest([folder], collection=name, on_file=on_file)
    failed = [
        {"source": Path(r.source).name, "reason": getattr(r, "reason", None) or r.status}
        for r in report.results
        if getattr(r, "status", "") == "failed"
    ]
    seconds = time.perf_counter() - started
    have = assistant.collections().get(name, 0)
    print(f"[{week}] {have} documents in {seconds:.0f} s, {len(failed)} failed", flush=True)
    return {
        "articles": len(articles),
        "documents": have,
        "cached": False,
        "failed": failed,
        "ingest_seconds": round(seconds, 1),
    }


class RetrievalTap:
    """Keeps the passages of the last retrieval, so a question's retrieval ceiling is read from
    the very passages its answer was drawn from (no second search)."""

    def __init__(self, assistant: Assistant) -> None:
        self.last: list[Any] = []
        #: The text of the windows the reader read for the last question.
        self.read: str = ""
        responder = assistant.responder
        reading = responder.read

        def read(question: str, chosen: list[Any]) -> Any:
            self.read = " ".join(norm(w.text) for w in chosen)
            return reading(question, chosen)

        responder.read = read  # type: ignore[method-assign]
        retriever = assistant.retriever
        original = retriever.retrieve

        def retrieve(*args: Any, **kwargs: Any) -> Any:
            passages = original(*args, **kwargs)
            self.last = list(passages)
            return passages

        retriever.retrieve = retrieve  # type: ignore[method-assign]


def has_short_field() -> bool:
    return any(f.name == "short" for f in fields(Answer))


def ask_timed(assistant: Assistant, tap: RetrievalTap, question: str, collection: str):
    """The answer, its wall time and this process's CPU time (ms), and the passages retrieved.

    CPU time is reported beside wall time because on a shared machine the wall time mostly
    measures how long the process waited for a core."""
    tap.last, tap.read = [], ""
    started, cpu = time.perf_counter(), time.process_time()
    answer = assistant.ask(question, collection=collection)
    wall = (time.perf_counter() - started) * 1000.0
    return answer, wall, (time.process_time() - cpu) * 1000.0, list(tap.last), tap.read


def score_answerable(
    q: dict[str, Any], answer: Answer, passages: list[Any], read: str
) -> dict[str, Any]:
    """How the answer fares; ``read`` is the text of the windows the reader read."""
    gold = norm(q["answer"])
    in_text = gold in norm(answer.text)
    in_quote = any(gold in norm(c.quote) for c in answer.citations)
    short = getattr(answer, "short", None)
    return {
        "right": (not answer.abstained) and in_text and in_quote,
        "in_text": in_text,
        "in_quote": in_quote,
        "in_retrieved": any(gold in norm(p.text) for p in passages),
        "in_read": gold in read,
        "short_has_answer": bool(short) and gold in norm(short),
    }


def run_week(
    assistant: Assistant, tap: RetrievalTap, week: str, absent_from: str | None
) -> dict[str, Any]:
    """Ask the week's questions and the absent-evidence ones; the week's figures and rows."""
    name = collection_name(week)
    questions = read_jsonl(DEV / week / "questions.jsonl")
    articles = read_jsonl(DEV / week / "articles.jsonl")
    haystack = "\n".join(norm(a.get("title") or "") + "\n" + norm(a["text"]) for a in articles)
    absent: list[dict[str, Any]] = []
    if absent_from:
        absent = [
            q
            for q in read_jsonl(DEV / absent_from / "questions.jsonl")
            if norm(q["answer"]) not in haystack
        ]
    answerable = [q for q in questions if q.get("answer_in_collection")]
    assistant.ask(WARM_UP, collection=name)
    rows: list[dict[str, Any]] = []
    times: list[float] = []
    cpu_times: list[float] = []
    todo = [(q, "answerable") for q in answerable] + [(q, "absent") for q in absent]
    for i, (q, kind) in enumerate(todo, 1):
        answer, ms, cpu_ms, passages, read = ask_timed(assistant, tap, q["question"], name)
        times.append(ms)
        cpu_times.append(cpu_ms)
        row: dict[str, Any] = {
            "week": week,
            "id": q["id"],
            "kind": kind,
            "question": q["question"],
            "gold": q["answer"],
            "answer": answer.text,
            "abstained": answer.abstained,
            "short": getattr(answer, "short", None),
            "ms": round(ms, 1),
            "cpu_ms": round(cpu_ms, 1),
            "timings": answer.timings,
        }
        if kind == "answerable":
            row.update(score_answerable(q, answer, passages, read))
        else:
            row["right"] = answer.abstained
        rows.append(row)
        if i % 10 == 0 or i == len(todo):
            print(f"[{week}] asked {i}/{len(todo)} (last {ms:.0f} ms)", flush=True)
    # After the timed asks, so that these searches do not warm anything up for them: how deep
    # the answer lies, for whoever works on retrieval.
    for row in rows:
        if row["kind"] == "answerable":
            deeper = assistant.search(row["question"], k=DEEP_K, collection=name)
            gold = norm(row["gold"])
            row["first_rank_with_answer"] = next(
                (i for i, p in enumerate(deeper, 1) if gold in norm(p.text)), None
            )
    figures = summarise(rows, times, cpu_times)
    figures["questions"] = len(questions)
    figures["absent_from_week"] = absent_from
    return {"figures": figures, "rows": rows, "times": times, "cpu_times": cpu_times}


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def wrong_kinds(answerable: list[dict[str, Any]]) -> dict[str, int]:
    """Why answerable questions went wrong: the answer not in the passages read, abstained
    although it was there, or answered without it (or without it in a cited quote)."""
    kinds = {"not_in_retrieved": 0, "abstained_though_retrieved": 0, "answered_without_it": 0}
    for r in answerable:
        if r["right"]:
            continue
        if not r["in_retrieved"]:
            kinds["not_in_retrieved"] += 1
        elif r["abstained"]:
            kinds["abstained_though_retrieved"] += 1
        else:
            kinds["answered_without_it"] += 1
    return kinds


def summarise(
    rows: list[dict[str, Any]], times: list[float], cpu_times: list[float]
) -> dict[str, Any]:
    """Counts and shares of a set of rows, with the latency of their asks."""
    ans = [r for r in rows if r["kind"] == "answerable"]
    neg = [r for r in rows if r["kind"] == "absent"]
    out: dict[str, Any] = {
        "answerable": len(ans),
        "answered_right": sum(r["right"] for r in ans),
        "answered_right_share": _share(sum(r["right"] for r in ans), len(ans)),
        "answerable_abstained": sum(r["abstained"] for r in ans),
        "in_retrieved": sum(r["in_retrieved"] for r in ans),
        "in_retrieved_share": _share(sum(r["in_retrieved"] for r in ans), len(ans)),
        "in_read": sum(r["in_read"] for r in ans),
        "in_read_share": _share(sum(r["in_read"] for r in ans), len(ans)),
        **{
            f"in_search_top_{k}": sum(
                r["first_rank_with_answer"] is not None and r["first_rank_with_answer"] <= k
                for r in ans
            )
            for k in (1, 5, 10, DEEP_K)
        },
        "wrong_kinds": wrong_kinds(ans),
        "absent": len(neg),
        "absent_abstained": sum(r["abstained"] for r in neg),
        "absent_abstained_share": _share(sum(r["abstained"] for r in neg), len(neg)),
    }
    if has_short_field():
        hits = sum(r["short_has_answer"] for r in ans)
        out["short_has_answer"] = hits
        out["short_has_answer_share"] = _share(hits, len(ans))
        out["short_given"] = sum(bool(r["short"]) for r in ans)
    for key, values in (("ask_ms", times), ("ask_cpu_ms", cpu_times)):
        if values:
            out[key] = {
                "n": len(values),
                "p50": round(float(np.percentile(values, 50)), 1),
                "p95": round(float(np.percentile(values, 95)), 1),
                "max": round(max(values), 1),
            }
    return out


def machine() -> dict[str, Any]:
    """The CPU the timings come from, and how busy the machine was."""
    model, flags = cpu()
    import torch

    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "avx512_bf16": "avx512_bf16" in flags,
        "amx": sorted(f for f in flags if f.startswith("amx")),
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_pressure": _pressure(),
        "python": sys.version.split()[0],
    }


def _pressure() -> str | None:
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None


def git_state() -> dict[str, Any]:
    """The commit measured and whether the product's files differed from it."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            return ""

    changed = git("status", "--porcelain", "--", "assistant", "ingest")
    return {"commit": git("rev-parse", "HEAD") or None, "uncommitted": changed.splitlines()}


def write_wrong(path: Path, rows: list[dict[str, Any]], header: str) -> None:
    wrong = [r for r in rows if r["kind"] == "answerable" and not r["right"]][:WRONG_SHOWN]
    lines = [header, ""]
    for r in wrong:
        said = "(abstained) " if r["abstained"] else ""
        lines += [
            f"[{r['week']}] {r['question']}",
            f"  gold: {r['gold']}"
            + (f"   in retrieved passages: {'yes' if r['in_retrieved'] else 'no'}"),
            f"  ours: {said}{' '.join(r['answer'].split())[:200]}",
        ]
        if r.get("short") is not None:
            lines.append(f"  short: {r['short']}")
        lines.append("")
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="With a chat model: set BRIEF_LLM (a model name, or provider:model) and "
        "BRIEF_LLM_BASE_URL (an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1; "
        "BRIEF_LLM_API_KEY if it needs one), then pass --llm. Results go to news_llm.json.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--weeks", help="comma-separated weeks to run (e.g. 20230106,20230203); default all"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help=f"where the ingested stores are kept between runs (default {DEFAULT_CACHE})",
    )
    parser.add_argument(
        "--reingest", action="store_true", help="delete the whole cache first and ingest again"
    )
    parser.add_argument(
        "--llm",
        action="store_true",
        help="answer with the chat model named by BRIEF_LLM (see below) instead of offline",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument(
        "--before",
        metavar="REVISION",
        help="first run this benchmark as it was at REVISION (a git commit) on the same weeks "
        "and store, and report its totals beside these (the baseline, in the same run)",
    )
    args = parser.parse_args()

    need_shared(DEV)
    every = weeks_available()
    weeks = every if not args.weeks else [w.strip() for w in args.weeks.split(",") if w.strip()]
    unknown = [w for w in weeks if w not in every]
    if unknown:
        sys.exit(f"unknown weeks {unknown}; the set has {', '.join(every)}")

    base = Settings()  # the environment's BRIEF_* settings, for the chat model's fields
    if args.llm and not base.llm:
        sys.exit("--llm needs BRIEF_LLM (and BRIEF_LLM_BASE_URL for a local server); see --help")
    if args.reingest and args.cache.exists():
        shutil.rmtree(args.cache)
    args.cache.mkdir(parents=True, exist_ok=True)
    settings = base.model_copy(
        update={"data_dir": args.cache, "chroma_host": None} | ({} if args.llm else {"llm": None})
    )
    before = None
    if args.before:
        extra = ["--cache", str(args.cache)] + (["--weeks", args.weeks] if args.weeks else [])
        before = run_at(
            args.before,
            "news.py",
            extra + (["--llm"] if args.llm else []),
            "news_llm.json" if args.llm else "news.json",
        )
    assistant = Assistant(settings)
    tap = RetrievalTap(assistant)

    started = time.perf_counter()
    stores = {w: ensure_store(assistant, w) for w in weeks}
    per_week: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    times: list[float] = []
    cpu_times: list[float] = []
    for week in weeks:
        following = every[(every.index(week) + 1) % len(every)]
        result = run_week(assistant, tap, week, following)
        per_week[week] = {**result["figures"], "store": stores[week]}
        rows += result["rows"]
        times += result["times"]
        cpu_times += result["cpu_times"]
        f = result["figures"]
        print(
            f"[{week}] right {f['answered_right']}/{f['answerable']}, "
            f"absent abstained {f['absent_abstained']}/{f['absent']}, "
            f"p50 {f['ask_ms']['p50']:.0f} ms p95 {f['ask_ms']['p95']:.0f} ms "
            f"(CPU {f['ask_cpu_ms']['p50']:.0f} / {f['ask_cpu_ms']['p95']:.0f} ms)",
            flush=True,
        )
    total = summarise(rows, times, cpu_times)
    # On this shared 2-core machine, while other jobs ran, the first few dozen asks of a run
    # took 0.1-2 s each, then settled at 30-45 ms (with the machine quiet they did not): the
    # figure without them is reported beside the whole, so neither hides the other.
    if len(times) > PROCESS_WARM_UP:
        steady = times[PROCESS_WARM_UP:]
        total["ask_ms_after_first_asks"] = {
            "skipped": PROCESS_WARM_UP,
            "n": len(steady),
            "p50": round(float(np.percentile(steady, 50)), 1),
            "p95": round(float(np.percentile(steady, 95)), 1),
        }
    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "answerer": f"chat model {settings.llm}" if args.llm else "offline",
        "git": git_state(),
        "machine": machine(),
        "method": {
            "compare": "case-insensitive substring; white space collapsed; curly quotes "
            "straightened",
            "answerable_right": "not abstained and the answer string in the answer text and in "
            "a cited quote",
            "absent": "the next week's questions (last week: the first week's) whose answer "
            "string is nowhere in this week's articles; right = abstained",
            "in_retrieved": "the answer string in any passage retrieved for the question",
            "in_search_top_k": "the answer string in one of the first k passages of "
            "Assistant.search (hybrid) for the question, asked untimed after the answer",
            "timing": "wall time of Assistant.ask (ask_ms) and the CPU time of this process "
            "during it (ask_cpu_ms), after one untimed warm-up question per week; "
            "cpu_pressure is /proc/pressure/cpu at the end (share of time tasks waited for a core)",
            "baseline_before_issue_15": {"answered_right": 0.31, "absent_abstained": 0.95},
        },
        "weeks": weeks,
        "total": total,
        "before": (
            {"revision": args.before, "git": before["git"], "total": before["total"]}
            if before
            else None
        ),
        "per_week": per_week,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    stem = "news_llm" if args.llm else "news"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    write_wrong(
        args.out / f"{stem}_wrong.txt",
        rows,
        f"First {WRONG_SHOWN} wrong answerable questions ({result['answerer']}, commit "
        f"{result['git']['commit']}, {result['timestamp']})",
    )
    print(json.dumps({"total": total, "machine": result["machine"]}, indent=2))
    if before:
        print(side_by_side(before["total"], total, args.before))


def side_by_side(before: dict[str, Any], after: dict[str, Any], revision: str) -> str:
    """The headline figures of the baseline and of this run, one line each."""
    keys = [
        "answered_right_share",
        "short_has_answer_share",
        "absent_abstained_share",
        "in_retrieved_share",
        "in_read_share",
    ]
    lines = [f"{'figure':28}{revision[:10]:>12}{'now':>12}"]
    for key in keys:
        lines.append(f"{key:28}{before.get(key, '')!s:>12}{after.get(key, '')!s:>12}")
    for key in ("ask_ms", "ask_ms_after_first_asks"):
        b, a = before.get(key) or {}, after.get(key) or {}
        for q in ("p50", "p95"):
            lines.append(f"{key + ' ' + q:28}{b.get(q, '')!s:>12}{a.get(q, '')!s:>12}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
