"""Ingest: files and URLs in, chunks embedded into Chroma and documents recorded, incrementally.

Reading and parsing run in a background thread while the main thread embeds, so the model
never waits for a PDF parser. URLs are fetched first, before the store's write lock is taken
(``Ingestor.fetch``): a slow or stalled web server holds up its own run only, never the other
writers queued on the lock. Unchanged sources (same bytes, same chunk settings) are
recognised by their content hash before they are parsed and cost almost nothing. Each batch of
documents is written in three steps that survive a kill at any moment (see
``assistant.index.registry``): journal, write chunks, commit.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import FetchError, IngestError, TooLarge
from assistant.index.registry import DocumentRecord
from assistant.index.store import Index
from assistant.settings import MIB
from ingest.loaders import CONTENT_TYPES, is_supported, loader_for
from ingest.loaders.url import fetch_url, is_url, suffix_for
from ingest.locking import WriteLock
from ingest.prepare import Prepared, content_hash, doc_id_for, prepare
from ingest.sandbox import Limits, load_bounded

#: Chunks embedded per batch: enough for the model to sort by length, few enough that a
#: killed run loses little and progress moves often.
BATCH_CHUNKS = 256


@dataclass
class FileResult:
    """What happened to one source."""

    source: str
    status: str  # "ingested", "unchanged", "failed", "skipped", "removed"
    doc_id: str | None = None
    title: str | None = None
    chunks: int = 0
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Its fields, for a JSON reply (the HTTP API's and the MCP tool's)."""
        return asdict(self)


@dataclass
class IngestReport:
    """Everything an ingest run did."""

    results: list[FileResult] = field(default_factory=list)
    chunks_embedded: int = 0
    tokens_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    recovered: int = 0

    def count(self, status: str) -> int:
        """Number of sources that ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        """True when no source failed."""
        return self.count("failed") == 0

    def summary(self) -> str:
        """One line a person reads at the end of a run."""
        parts = [
            f"{self.count('ingested')} ingested",
            f"{self.count('unchanged')} unchanged",
            f"{self.count('failed')} failed",
        ]
        if self.count("removed"):
            parts.append(f"{self.count('removed')} removed")
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} skipped (unsupported type)")
        rate = self.tokens_embedded / self.seconds if self.seconds else 0.0
        return (
            ", ".join(parts)
            + f"; {self.chunks_embedded} chunks embedded in {self.seconds:.1f} s"
            + (f" ({rate:,.0f} tokens/s)" if self.chunks_embedded else "")
        )


@dataclass
class Download:
    """A URL fetched before the write lock: its body kept aside (in memory, or an unnamed
    temporary file once large) with its loader suffix, or the error that stopped it."""

    url: str
    body: tempfile.SpooledTemporaryFile[bytes] | None = None
    suffix: str | None = None
    error: IngestError | None = None

    def data(self) -> bytes:
        """The body's bytes (read once, when the document is read); its error if it failed."""
        if self.error is not None or self.body is None:
            raise self.error or FetchError("not fetched")
        self.body.seek(0)
        return self.body.read()

    def close(self) -> None:
        if self.body is not None:
            self.body.close()


#: A fetched body larger than this goes to an unnamed temporary file rather than memory: a run
#: of many URLs holds their bodies until each is read.
SPOOL_BYTES = 4 * MIB


@dataclass
class _Source:
    key: str  # absolute path or URL: what the document is known by
    path: Path | None = None
    explicit: bool = True  # named by the user, not found inside a folder
    download: Download | None = None  # a URL's, fetched before the lock


Listener = Callable[[FileResult], None]
ChunkListener = Callable[[int, int], None]


class Ingestor:
    """Adds, replaces and removes documents of a collection."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.settings = index.settings

    # --- public --------------------------------------------------------------------------

    def ingest(
        self,
        inputs: Iterable[str | Path],
        collection: str | None = None,
        prune: bool = False,
        on_file: Listener | None = None,
        on_chunks: ChunkListener | None = None,
        fetched: Mapping[str, Download] | None = None,
    ) -> IngestReport:
        """Ingest files, folders (recursively) and http(s) URLs into ``collection``.

        Never raises for a bad source: each one gets a ``FileResult`` with the reason.
        With ``prune``, documents whose files under the given folders are gone are removed.
        URLs are fetched before the write lock is taken, unless ``fetched`` (``fetch``) holds
        them already; ``StoreBusy`` if another write holds the lock beyond
        ``BRIEF_WRITE_WAIT_S``.
        """
        collection = collection or self.settings.collection
        report = IngestReport()
        started = time.perf_counter()
        names = [str(i) for i in inputs]
        downloads = dict(fetched or {})
        downloads.update(self.fetch([n for n in names if is_url(n) and n not in downloads]))
        try:
            self._ingest(names, collection, prune, report, downloads, on_file, on_chunks)
        finally:
            for download in downloads.values():
                download.close()
        report.seconds = time.perf_counter() - started
        return report

    def fetch(self, urls: Iterable[str]) -> dict[str, Download]:
        """Fetch ``urls`` (each within ``BRIEF_URL_TIMEOUT_S`` and at
        ``BRIEF_URL_MIN_KIB_PER_S``), without the write lock: what ``ingest`` is then given as
        ``fetched``. A URL that cannot be fetched carries its error, reported by ``ingest``."""
        s = self.settings
        downloads: dict[str, Download] = {}
        for url in dict.fromkeys(urls):
            try:
                got = fetch_url(
                    url,
                    max_bytes=s.max_file_bytes,
                    timeout=s.url_timeout_s,
                    allow_private=s.allow_private_urls,
                    min_bytes_per_s=s.url_min_bytes_per_s,
                )
            except IngestError as exc:
                downloads[url] = Download(url, error=exc)
                continue
            except Exception as exc:  # as in reading: a bug must cost one source, not the run
                reason = f"could not fetch it ({type(exc).__name__}: {exc})"
                downloads[url] = Download(url, error=FetchError(reason))
                continue
            # Closed by ``Download.close`` once the run is over.
            body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
            body.write(got.data)
            downloads[url] = Download(url, body=body, suffix=suffix_for(got, CONTENT_TYPES))
        return downloads

    def _ingest(
        self,
        names: list[str],
        collection: str,
        prune: bool,
        report: IngestReport,
        downloads: dict[str, Download],
        on_file: Listener | None,
        on_chunks: ChunkListener | None,
    ) -> None:

        def emit(result: FileResult) -> None:
            report.results.append(result)
            if on_file:
                on_file(result)

        with self._lock():
            report.recovered = self.index.recover(collection)
            sources = list(self._expand(names, emit, downloads))
            work: queue.Queue[Prepared | FileResult | None] = queue.Queue(maxsize=64)
            stop = threading.Event()
            reader = threading.Thread(
                target=self._read_all, args=(sources, collection, work, stop), daemon=True
            )
            reader.start()
            batch: list[Prepared] = []
            try:
                while True:
                    item = work.get()
                    if item is None:
                        break
                    if isinstance(item, FileResult):
                        emit(item)
                        continue
                    batch.append(item)
                    if sum(len(p.chunks) for p in batch) >= BATCH_CHUNKS:
                        self._write(batch, report, emit, on_chunks)
                        batch = []
                if batch:
                    self._write(batch, report, emit, on_chunks)
            finally:
                stop.set()
                reader.join(timeout=5)
            if prune:
                for result in self._prune(collection, names):
                    emit(result)

    def recover(self) -> int:
        """Finish what an interrupted process left, in every collection; returns how many
        unfinished writes were undone. A server calls it as it starts."""
        with self._lock():
            return self.index.recover(None)

    def remove(self, target: str, collection: str | None = None) -> list[DocumentRecord]:
        """Remove the document with this id, source path or URL; returns what was removed."""
        collection = collection or self.settings.collection
        registry = self.index.registry
        found = registry.get(collection, target)
        if found is None:
            key = target if is_url(target) else str(Path(target).expanduser().resolve())
            found = registry.find_by_source(collection, key)
        if found is None:
            return []
        with self._lock():
            entry = registry.remove(collection, found.doc_id)
            if entry:
                self.index.drop([entry])
        return [found]

    # --- reading (background thread) -----------------------------------------------------

    def _expand(
        self, inputs: list[str], emit: Listener, downloads: Mapping[str, Download]
    ) -> Iterator[_Source]:
        seen: set[str] = set()
        for item in inputs:
            if is_url(item):
                if item not in seen:
                    seen.add(item)
                    yield _Source(key=item, download=downloads[item])
                continue
            path = Path(item).expanduser()
            if path.is_dir():
                for child in sorted(_walk(path)):
                    key = str(child.resolve())
                    if key in seen:
                        continue
                    seen.add(key)
                    if is_supported(child.name):
                        yield _Source(key=key, path=child, explicit=False)
                    else:
                        emit(FileResult(source=key, status="skipped", reason="unsupported type"))
            else:
                key = str(path.resolve()) if path.exists() else str(path.absolute())
                if key not in seen:
                    seen.add(key)
                    yield _Source(key=key, path=path)

    def _read_all(
        self,
        sources: list[_Source],
        collection: str,
        work: queue.Queue[Prepared | FileResult | None],
        stop: threading.Event,
    ) -> None:
        try:
            known = self.index.registry.hashes(collection)
            for source in sources:
                if stop.is_set():
                    return
                try:
                    item = self._read_one(source, collection, known)
                except IngestError as exc:
                    item = FileResult(source=source.key, status="failed", reason=str(exc))
                except MemoryError:
                    item = FileResult(source=source.key, status="failed", reason="out of memory")
                except Exception as exc:  # a parser bug must cost one file, not the run
                    reason = f"could not read it ({type(exc).__name__}: {exc})"
                    item = FileResult(source=source.key, status="failed", reason=reason)
                work.put(item)
        finally:
            work.put(None)

    def _fingerprint(self) -> str:
        s = self.settings
        return f"{s.chunk_tokens}/{s.chunk_overlap_tokens}"

    def _read_one(
        self, source: _Source, collection: str, known: dict[str, str]
    ) -> Prepared | FileResult:
        s = self.settings
        max_bytes = s.max_file_bytes
        doc_id = doc_id_for(source.key)
        suffix = None
        if source.path is not None:
            loader_for(source.path.suffix)  # refuse an unsupported type before reading it
            data = _read_file(source.path, max_bytes)
        else:  # a URL, fetched before the lock
            download = source.download or Download(source.key, error=FetchError("not fetched"))
            data, suffix = download.data(), download.suffix
        data_hash = content_hash(data, self._fingerprint())
        if known.get(doc_id) == data_hash:
            return FileResult(source=source.key, status="unchanged", doc_id=doc_id)
        extracted = load_bounded(
            data,
            source.key,
            suffix=suffix,
            url=source.key if source.path is None else None,
            limits=Limits(
                max_pages=s.max_pdf_pages,
                max_unzipped=s.max_unzipped_bytes,
                max_chars=s.max_text_chars,
                timeout_s=s.load_timeout_s,
                memory_mb=s.load_memory_mb,
            ),
        )
        return prepare(
            extracted,
            collection=collection,
            source=source.key,
            data_hash=data_hash,
            size_bytes=len(data),
            counter=self.index.embedder.tokens,
            target_tokens=s.chunk_tokens,
            overlap_tokens=s.chunk_overlap_tokens,
            max_chars=s.max_text_chars,
        )

    # --- writing (main thread) -----------------------------------------------------------

    def _write(
        self,
        batch: list[Prepared],
        report: IngestReport,
        emit: Listener,
        on_chunks: ChunkListener | None,
    ) -> None:
        registry = self.index.registry
        collection = batch[0].record.collection
        registry.begin([(collection, p.record.doc_id, p.record.content_hash) for p in batch])
        texts = [t for p in batch for t in p.embed_inputs]
        spans = [s for p in batch for s in p.sentence_spans]
        started = time.perf_counter()
        vectors, pooled = self.index.embedder.embed_with_spans(texts, spans)
        report.embed_seconds += time.perf_counter() - started
        ids = [cid for p in batch for cid in p.chunk_ids]
        docs = [c.text for p in batch for c in p.chunks]
        metas = [m for p in batch for m in p.metadatas]
        self.index.write_chunks(collection, ids, vectors, docs, metas)
        sentences: dict[str, list[tuple[int, int, np.ndarray]]] = {}
        row = 0
        for p in batch:
            rows = sentences.setdefault(p.record.doc_id, [])
            for chunk in p.chunks:
                rows.extend(
                    (a, b, vec) for (a, b), vec in zip(chunk.sentences, pooled[row], strict=True)
                )
                row += 1
        dropped = registry.commit([p.record for p in batch], sentences)
        self.index.drop(dropped)
        tokens = sum(p.record.token_count for p in batch)
        report.chunks_embedded += len(ids)
        report.tokens_embedded += tokens
        if on_chunks:
            on_chunks(len(ids), tokens)
        for p in batch:
            emit(
                FileResult(
                    source=p.record.source,
                    status="ingested",
                    doc_id=p.record.doc_id,
                    title=p.record.title,
                    chunks=len(p.chunks),
                )
            )

    def _prune(self, collection: str, inputs: list[str]) -> list[FileResult]:
        roots = [str(Path(i).expanduser().resolve()) for i in inputs if not is_url(i)]
        results = []
        for record in self.index.registry.list(collection):
            if is_url(record.source) or os.path.exists(record.source):
                continue
            if any(
                record.source == r or record.source.startswith(r.rstrip(os.sep) + os.sep)
                for r in roots
            ):
                entry = self.index.registry.remove(collection, record.doc_id)
                if entry:
                    self.index.drop([entry])
                results.append(
                    FileResult(
                        source=record.source,
                        status="removed",
                        doc_id=record.doc_id,
                        title=record.title,
                        reason="file is gone",
                    )
                )
        return results

    def _lock(self) -> WriteLock:
        return WriteLock(
            self.settings.data_dir / "write.lock",
            enabled=not self.settings.uses_chroma_server,
            wait_s=self.settings.write_wait_s,
        )


def _walk(folder: Path) -> Iterator[Path]:
    """Files below ``folder``, skipping hidden files and folders."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                yield Path(root) / name


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise IngestError("no such file or folder") from exc
    except OSError as exc:
        raise IngestError(f"cannot read it ({exc.strerror or exc})") from exc
    if not path.is_file():
        raise IngestError("not a regular file")
    if size > max_bytes:
        raise TooLarge(
            f"{size:,} bytes, more than the limit of {max_bytes / MIB:g} MiB ({max_bytes:,} bytes)"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read it ({exc.strerror or exc})") from exc
