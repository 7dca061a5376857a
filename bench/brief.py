"""How long a briefing of a 50-document collection takes offline. Target: under 30 s.

The collection: the seed article, the three bundled samples, and 46 report-length documents
each made of four consecutive SciFact abstracts (about 900 words each, 50 in all). It is
ingested once (not timed against the target), then briefed with a fresh ``Assistant`` each
time, so that no briefing comes from the cache:

* ``stored vectors`` (ours): the sentence vectors stored at ingest are read from the registry;
* ``re-embedding`` (the baseline a plain implementation would be): every sentence of every
  document embedded at briefing time, which is what the stored vectors save;
* ``focus``: the same with ``focus="cancer treatment"`` (one search and the focus filter).

Each is run ``--runs`` times (default 3); the median is reported. Figures go to
``bench/results/brief.json``.

Run from the repository root: ``.venv/bin/python bench/brief.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from common import REPO, RESULTS, SHARED, need_shared  # first: offline settings, import path

from assistant.core import Assistant
from assistant.settings import Settings

TARGET_S = 30.0
DOCUMENTS = 50
SCIFACT = SHARED / "eval" / "scifact" / "corpus.jsonl"
SEED = SHARED / "corpus" / "seed"
SAMPLES = REPO / "assistant" / "samples"


def write_collection(folder: Path) -> list[Path]:
    """The 50 documents: seed, samples, and 46 four-abstract reports, as files."""
    rows = [json.loads(line) for line in SCIFACT.open(encoding="utf-8")]
    paths = sorted(SEED.glob("*.txt")) + sorted(SAMPLES.glob("*.md"))
    k = 0
    while len(paths) < DOCUMENTS:
        part = rows[k * 4 : k * 4 + 4]
        k += 1
        body = "\n\n".join(f"{r['title']}\n\n{r['text']}" for r in part)
        path = folder / f"report-{k:02d}.txt"
        path.write_text(f"Report {k}: {part[0]['title']}\n\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


def timed(data: Path, focus: str | None = None, re_embed: bool = False) -> dict:
    """One briefing by a fresh Assistant (model loaded and warmed first, not timed)."""
    a = Assistant(Settings(data_dir=data))
    a.index.embedder.embed_one("warm up")
    a.retriever.retrieve("warm up", a.index.embedder.embed_one("warm up"), "default", k=1)
    if re_embed:
        with mock.patch.object(a.index.registry, "sentence_vectors", return_value={}):
            started = time.perf_counter()
            briefing = a.brief(focus=focus)
    else:
        started = time.perf_counter()
        briefing = a.brief(focus=focus)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "documents": briefing.documents,
        "key_points": len(briefing.key_points),
        "statements": len(briefing.who_said_what),
        "figures": len(briefing.key_figures),
        "events": len(briefing.timeline),
        "open_questions": len(briefing.open_questions),
        "citations": len(briefing.citations),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    need_shared(SCIFACT, SEED)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = root / "docs"
        docs.mkdir()
        paths = write_collection(docs)
        data = root / "data"
        started = time.perf_counter()
        report = Assistant(Settings(data_dir=data)).ingest(paths)
        ingest_s = time.perf_counter() - started
        words = sum(len(p.read_text(encoding="utf-8").split()) for p in paths)
        print(f"ingested {len(paths)} documents ({words} words) in {ingest_s:.1f} s")
        runs: dict[str, list[dict]] = {"stored vectors": [], "re-embedding": [], "focus": []}
        for _ in range(args.runs):
            runs["stored vectors"].append(timed(data))
            runs["re-embedding"].append(timed(data, re_embed=True))
            runs["focus"].append(timed(data, focus="cancer treatment"))
            print({k: v[-1]["seconds"] for k, v in runs.items()})
    summary = {
        name: {
            "median_s": statistics.median(r["seconds"] for r in results),
            "runs_s": [r["seconds"] for r in results],
            **{k: v for k, v in results[-1].items() if k != "seconds"},
        }
        for name, results in runs.items()
    }
    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "collection": {
            "documents": len(paths),
            "words": words,
            "failed": len(getattr(report, "failed", []) or []),
            "ingest_s": round(ingest_s, 1),
        },
        "briefings": summary,
        "target_s": TARGET_S,
        "target_met": summary["stored vectors"]["median_s"] < TARGET_S
        and summary["focus"]["median_s"] < TARGET_S,
        "speedup_vs_re_embedding": round(
            summary["re-embedding"]["median_s"] / max(summary["stored vectors"]["median_s"], 1e-9),
            1,
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "brief.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
