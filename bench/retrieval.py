"""Retrieval benchmark on BEIR SciFact: dense only, BM25 only and our hybrid, side by side.

The whole SciFact corpus (5,183 abstracts) is ingested with our pipeline (each abstract a
``.txt`` file: title line, blank line, abstract), then each of the 300 test claims is run in
every mode. Chunks are ranked by the mode's score and each document takes the score of its best
chunk; nDCG@10, Recall@10 and MRR@10 are computed against ``qrels/test.tsv``.

The shipped fusion (``retriever.fuse``: squared cosine and the square root of BM25's share of
the question's ceiling, on fixed scales) is swept over its dense weight so the default is chosen
by measurement; beside it, for comparison, fusions that depend on the pool: z-scores over the
pool (shipped before) and reciprocal rank fusion, and the plain linear mix on fixed scales.
The ingested collection (about 12,000 chunks) also serves the latency figures: p50/p95 of
``Assistant.search`` and of ``Assistant.ask`` with the offline answerer.

Run from the repository root: ``.venv/bin/python bench/retrieval.py [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import RESULTS, SHARED, need_shared  # first: offline settings, import path

from assistant.answering.retriever import Scored, fuse
from assistant.core import Assistant
from assistant.settings import Settings

SCIFACT = SHARED / "eval" / "scifact"
DEFAULT_OUT = RESULTS / "retrieval.json"
WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def load_scifact() -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    """Corpus rows, test queries (id -> text) and judgements (query id -> doc id -> grade)."""
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    qrels: dict[str, dict[str, int]] = {}
    with open(SCIFACT / "qrels" / "test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, grade = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[did] = int(grade)
    queries = {}
    with open(SCIFACT / "queries_test.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    return corpus, queries, qrels


def metrics(ranked: list[str], relevant: dict[str, int], k: int = 10) -> dict[str, float]:
    """nDCG@k, Recall@k and MRR@k of one ranked list of document ids."""
    top = ranked[:k]
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    hits = [i for i, d in enumerate(top) if relevant.get(d, 0) > 0]
    return {
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "recall@10": sum(1 for d in top if relevant.get(d, 0) > 0) / len(relevant),
        "mrr@10": 1.0 / (hits[0] + 1) if hits else 0.0,
    }


def rank_documents(pool: list[Scored], score: np.ndarray, ids: dict[str, str]) -> list[str]:
    """Document ids (SciFact ids) by the best score of any of their chunks."""
    best: dict[str, float] = {}
    for item, value in zip(pool, score, strict=True):
        doc = ids[item.hit.metadata["doc_id"]]
        if value > best.get(doc, -math.inf):
            best[doc] = float(value)
    return sorted(best, key=lambda d: -best[d])


def zscore(values: np.ndarray) -> np.ndarray:
    """Standardised over the pool (the fusion shipped before: it moves with every outlier)."""
    std = values.std()
    return (values - values.mean()) / std if std > 1e-9 else np.zeros_like(values)


def rrf(dense: np.ndarray, lexical: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion of two score lists over the same pool."""
    out = np.zeros(len(dense))
    for scores in (dense, lexical):
        ranks = np.empty(len(scores))
        ranks[np.argsort(-scores)] = np.arange(1, len(scores) + 1)
        out += 1.0 / (k + ranks)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--data",
        type=Path,
        help="keep the corpus and store in this folder and reuse them (default: a temporary one)",
    )
    args = parser.parse_args()
    need_shared(
        SCIFACT / "corpus.jsonl", SCIFACT / "qrels" / "test.tsv", SCIFACT / "queries_test.jsonl"
    )

    corpus, queries, qrels = load_scifact()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.data or Path(scratch)
        folder = Path(tmp) / "scifact"
        folder.mkdir(parents=True, exist_ok=True)
        for row in corpus:
            (folder / f"{row['_id']}.txt").write_text(f"{row['title']}\n\n{row['text']}")
        assistant = Assistant(Settings(data_dir=Path(tmp) / "data"))
        started = time.perf_counter()
        report = assistant.ingest([folder])
        ingest_seconds = time.perf_counter() - started
        print(report.summary(), flush=True)
        scifact_id = {d.doc_id: Path(d.source).stem for d in assistant.documents()}
        retriever = assistant.retriever
        retriever.lexical("default").refresh()
        chunks = len(retriever.lexical("default").chunks)

        runs: dict[str, list[dict[str, float]]] = {}
        for qid, text in queries.items():
            vector = assistant.index.embedder.embed_one(text)
            pool = retriever.pool(text, vector, "default")
            dense = np.array([s.dense for s in pool])
            lexical = np.array([s.lexical for s in pool])
            ceiling = retriever.lexical("default").ceiling(text)
            share = lexical / ceiling if ceiling > 0 else np.zeros_like(lexical)
            variants = {
                "dense": dense,
                "bm25": lexical,
                "rrf (k=60)": rrf(dense, lexical),
                "z-scores over the pool w=0.5": 0.5 * zscore(dense) + 0.5 * zscore(lexical),
                "linear, fixed scales w=0.4": 0.4 * dense + 0.6 * share,
                **{f"hybrid w={w}": fuse(dense, lexical, ceiling, w) for w in WEIGHTS},
            }
            for name, score in variants.items():
                ranked = rank_documents(pool, score, scifact_id)
                runs.setdefault(name, []).append(metrics(ranked, qrels[qid]))

        latencies = []
        for text in queries.values():
            started = time.perf_counter()
            assistant.search(text, k=5)
            latencies.append(time.perf_counter() - started)
        # The whole offline answer (retrieval, sentence scoring, abstention, citations), each
        # claim asked once, so sentence embeddings are computed cold as a new question's are.
        ask_latencies = []
        for text in queries.values():
            started = time.perf_counter()
            assistant.ask(text)
            ask_latencies.append(time.perf_counter() - started)

    table = {
        name: {m: float(np.mean([r[m] for r in rows])) for m in rows[0]}
        for name, rows in runs.items()
    }
    shipped = f"hybrid w={retriever.config.dense_weight}"
    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus": {"documents": len(corpus), "chunks": chunks, "queries": len(queries)},
        "ingest_seconds": ingest_seconds,
        "ingest_summary": report.summary(),
        "pool": {"dense_k": retriever.config.dense_k, "lexical_k": retriever.config.lexical_k},
        "results": table,
        "shipped": shipped,
        "search_latency_ms": {
            "p50": float(np.percentile(latencies, 50) * 1000),
            "p95": float(np.percentile(latencies, 95) * 1000),
        },
        "ask_latency_ms": {
            "p50": float(np.percentile(ask_latencies, 50) * 1000),
            "p95": float(np.percentile(ask_latencies, 95) * 1000),
        },
        "target": {
            "hybrid ndcg@10 >= 0.739": table[shipped]["ndcg@10"] >= 0.739,
            "ask p50 <= 100 ms": float(np.percentile(ask_latencies, 50) * 1000) <= 100,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print("| run | nDCG@10 | R@10 | MRR@10 |\n| --- | ---: | ---: | ---: |")
    for name, row in table.items():
        mark = " (shipped)" if name == shipped else ""
        print(
            f"| {name}{mark} | {row['ndcg@10']:.3f} | {row['recall@10']:.3f} "
            f"| {row['mrr@10']:.3f} |"
        )
    lat = result["search_latency_ms"]
    print(
        f"\nsearch latency over {chunks:,} chunks: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms"
    )
    print(f"Written to {args.out}")


if __name__ == "__main__":
    main()
