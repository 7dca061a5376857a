"""The document registry: one SQLite file that knows every document and its committed version.

Chroma holds the chunks and their vectors; this file holds, per document, the full cleaned text
(so a citation can be shown in its context), its metadata, and the content hash of the version
whose chunks are live. It also keeps a small journal that makes ingest crash-safe:

* before the chunks of a new version are written, an ``add`` entry names (document, hash);
* the switch to the new version is one SQLite transaction, which also turns the old version into
  a ``drop`` entry;
* old chunks are deleted from Chroma, then the ``drop`` entry goes.

Whatever the moment a process dies, ``pending()`` lists exactly the chunk sets that may be stray,
and the live version of every document is complete. Searches only return chunks whose hash is
the committed one, so a half-written version is never seen.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection   TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    source       TEXT NOT NULL,
    title        TEXT NOT NULL,
    date         TEXT,
    kind         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text         TEXT NOT NULL,
    chunk_count  INTEGER NOT NULL,
    token_count  INTEGER NOT NULL,
    size_bytes   INTEGER NOT NULL,
    ingested_at  TEXT NOT NULL,
    layout       TEXT NOT NULL,
    PRIMARY KEY (collection, doc_id)
);
CREATE INDEX IF NOT EXISTS documents_source ON documents (collection, source);
CREATE TABLE IF NOT EXISTS sentences (
    collection   TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    start        INTEGER NOT NULL,
    end          INTEGER NOT NULL,
    vector       BLOB NOT NULL,
    PRIMARY KEY (collection, doc_id, content_hash, start)
);
CREATE TABLE IF NOT EXISTS generations (
    collection   TEXT PRIMARY KEY,
    generation   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    collection   TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('add', 'drop')),
    PRIMARY KEY (collection, doc_id, content_hash)
);
"""


@dataclass
class DocumentRecord:
    """A document as the registry knows it (its committed version)."""

    collection: str
    doc_id: str
    source: str
    title: str
    date: str | None
    kind: str
    content_hash: str
    text: str
    chunk_count: int
    token_count: int
    size_bytes: int
    ingested_at: str = ""
    #: Where pages and sections start in ``text``: {"pages": [[start, page]...],
    #: "sections": [[start, "Heading > Sub"]...]}.
    layout: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The record as the JSON faces list it (CLI, HTTP API): without text and layout."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "kind": self.kind,
            "chunks": self.chunk_count,
            "tokens": self.token_count,
            "bytes": self.size_bytes,
            "ingested_at": self.ingested_at,
        }


@dataclass(frozen=True)
class JournalEntry:
    """A set of chunks in Chroma that may be stray: (collection, document, version hash)."""

    collection: str
    doc_id: str
    content_hash: str
    action: str


_COLUMNS = (
    "collection, doc_id, source, title, date, kind, content_hash, text, chunk_count, "
    "token_count, size_bytes, ingested_at, layout"
)
_LIST_COLUMNS = (
    "collection, doc_id, source, title, date, kind, content_hash, '' AS text, chunk_count, "
    "token_count, size_bytes, ingested_at, layout"
)


class Registry:
    """SQLite-backed record of documents and of unfinished chunk writes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._db().executescript(SCHEMA)  # idempotent; executescript manages its own commit
        self._live: dict[str, tuple[int, dict[str, str]]] = {}
        self._live_lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- reading -------------------------------------------------------------------------

    def get(self, collection: str, doc_id: str) -> DocumentRecord | None:
        """The committed document, with its full text, or None."""
        row = (
            self._db()
            .execute(
                f"SELECT {_COLUMNS} FROM documents WHERE collection=? AND doc_id=?",
                (collection, doc_id),
            )
            .fetchone()
        )
        return _record(row) if row else None

    def hashes(self, collection: str) -> dict[str, str]:
        """doc_id -> committed content hash, for every document of the collection."""
        rows = self._db().execute(
            "SELECT doc_id, content_hash FROM documents WHERE collection=?", (collection,)
        )
        return {r["doc_id"]: r["content_hash"] for r in rows}

    def live_hashes(self, collection: str) -> Mapping[str, str]:
        """``hashes(collection)``, kept until the collection's generation changes.

        Every search filters chunks by these; reading them per query cost ~16 ms at 5,000
        documents, where the generation is one row. Treat the result as read-only.
        """
        generation = self.generation(collection)
        with self._live_lock:
            cached = self._live.get(collection)
            if cached and cached[0] == generation:
                return cached[1]
        hashes = self.hashes(collection)
        # Read after the generation: if a commit slipped in between, the next call reloads.
        with self._live_lock:
            self._live[collection] = (generation, hashes)
        return hashes

    def list(self, collection: str) -> list[DocumentRecord]:
        """Every document of the collection, newest first, without their texts."""
        rows = self._db().execute(
            f"SELECT {_LIST_COLUMNS} FROM documents WHERE collection=? "
            "ORDER BY ingested_at DESC, title",
            (collection,),
        )
        return [_record(r) for r in rows]

    def find_by_source(self, collection: str, source: str) -> DocumentRecord | None:
        """The document ingested from ``source`` (a path or URL), without its text."""
        row = (
            self._db()
            .execute(
                f"SELECT {_LIST_COLUMNS} FROM documents WHERE collection=? AND source=?",
                (collection, source),
            )
            .fetchone()
        )
        return _record(row) if row else None

    def collections(self) -> dict[str, int]:
        """Collection name -> number of documents, for every collection holding any."""
        rows = self._db().execute(
            "SELECT collection, COUNT(*) AS n FROM documents "
            "GROUP BY collection ORDER BY collection"
        )
        return {r["collection"]: r["n"] for r in rows}

    def generation(self, collection: str) -> int:
        """A number that changes whenever a document of the collection is added or removed."""
        row = (
            self._db()
            .execute("SELECT generation FROM generations WHERE collection=?", (collection,))
            .fetchone()
        )
        return int(row["generation"]) if row else 0

    def sentence_vectors(
        self, collection: str, doc_id: str, content_hash: str, start: int, end: int
    ) -> dict[tuple[int, int], np.ndarray]:
        """Stored vectors of a version's sentences within [start, end), by (start, end)."""
        rows = self._db().execute(
            "SELECT start, end, vector FROM sentences WHERE collection=? AND doc_id=? "
            "AND content_hash=? AND start>=? AND start<?",
            (collection, doc_id, content_hash, start, end),
        )
        return {(r["start"], r["end"]): _unpack(r["vector"]) for r in rows}

    def pending(self, collection: str | None = None) -> builtins.list[JournalEntry]:
        """Chunk sets left by unfinished writes, to delete from Chroma."""
        sql = "SELECT collection, doc_id, content_hash, action FROM journal"
        args: tuple[str, ...] = ()
        if collection is not None:
            sql += " WHERE collection=?"
            args = (collection,)
        return [JournalEntry(**dict(r)) for r in self._db().execute(sql, args)]

    # --- writing -------------------------------------------------------------------------

    def begin(self, entries: builtins.list[tuple[str, str, str]]) -> None:
        """Record that chunks of these (collection, doc_id, hash) versions are being written."""
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO journal VALUES (?, ?, ?, 'add')",
                entries,
            )

    def commit(
        self,
        records: builtins.list[DocumentRecord],
        sentences: dict[str, builtins.list[tuple[int, int, np.ndarray]]] | None = None,
    ) -> builtins.list[JournalEntry]:
        """Make these versions live, atomically; returns the old versions now to be dropped.

        ``sentences`` maps a doc id to (start, end, vector) of its sentences; they are stored
        with the version, in the same transaction.
        """
        now = datetime.now(UTC).isoformat(timespec="seconds")
        dropped: list[JournalEntry] = []
        with self._tx() as db:
            for rec in records:
                old = db.execute(
                    "SELECT content_hash FROM documents WHERE collection=? AND doc_id=?",
                    (rec.collection, rec.doc_id),
                ).fetchone()
                rec.ingested_at = now
                db.execute(
                    f"INSERT OR REPLACE INTO documents ({_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec.collection,
                        rec.doc_id,
                        rec.source,
                        rec.title,
                        rec.date,
                        rec.kind,
                        rec.content_hash,
                        rec.text,
                        rec.chunk_count,
                        rec.token_count,
                        rec.size_bytes,
                        rec.ingested_at,
                        json.dumps(rec.layout),
                    ),
                )
                db.execute(
                    "DELETE FROM journal WHERE collection=? AND doc_id=? AND content_hash=?",
                    (rec.collection, rec.doc_id, rec.content_hash),
                )
                _bump(db, rec.collection)
                rows = (sentences or {}).get(rec.doc_id, [])
                db.executemany(
                    "INSERT OR IGNORE INTO sentences VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (rec.collection, rec.doc_id, rec.content_hash, a, b, _pack(vec))
                        for a, b, vec in rows
                    ],
                )
                if old and old["content_hash"] != rec.content_hash:
                    _forget_sentences(db, rec.collection, rec.doc_id, old["content_hash"])
                    entry = JournalEntry(rec.collection, rec.doc_id, old["content_hash"], "drop")
                    db.execute(
                        "INSERT OR REPLACE INTO journal VALUES (?, ?, ?, 'drop')",
                        (entry.collection, entry.doc_id, entry.content_hash),
                    )
                    dropped.append(entry)
        return dropped

    def remove(self, collection: str, doc_id: str) -> JournalEntry | None:
        """Forget a document, atomically; returns its version now to be dropped from Chroma."""
        with self._tx() as db:
            old = db.execute(
                "SELECT content_hash FROM documents WHERE collection=? AND doc_id=?",
                (collection, doc_id),
            ).fetchone()
            if old is None:
                return None
            db.execute(
                "DELETE FROM documents WHERE collection=? AND doc_id=?", (collection, doc_id)
            )
            _forget_sentences(db, collection, doc_id, old["content_hash"])
            _bump(db, collection)
            db.execute(
                "INSERT OR REPLACE INTO journal VALUES (?, ?, ?, 'drop')",
                (collection, doc_id, old["content_hash"]),
            )
        return JournalEntry(collection, doc_id, old["content_hash"], "drop")

    def settle(self, entries: builtins.list[JournalEntry]) -> None:
        """Mark these chunk sets as deleted from Chroma."""
        with self._tx() as db:
            db.executemany(
                "DELETE FROM journal WHERE collection=? AND doc_id=? AND content_hash=? "
                "AND action=?",
                [(e.collection, e.doc_id, e.content_hash, e.action) for e in entries],
            )


def _pack(vector: np.ndarray) -> bytes:
    """A sentence vector as stored: float16, 768 bytes."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def _unpack(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


def _forget_sentences(db: sqlite3.Connection, collection: str, doc_id: str, version: str) -> None:
    db.execute(
        "DELETE FROM sentences WHERE collection=? AND doc_id=? AND content_hash=?",
        (collection, doc_id, version),
    )


def _bump(db: sqlite3.Connection, collection: str) -> None:
    db.execute(
        "INSERT INTO generations VALUES (?, 1) "
        "ON CONFLICT(collection) DO UPDATE SET generation = generation + 1",
        (collection,),
    )


def _record(row: sqlite3.Row) -> DocumentRecord:
    data = dict(row)
    data["layout"] = json.loads(data["layout"] or "{}")
    return DocumentRecord(**data)
