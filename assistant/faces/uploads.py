"""Where files uploaded through the web chat or the HTTP API are kept, and how they are named.

An upload is copied to ``BRIEF_DATA_DIR/uploads/<collection>/<file name>`` and ingested from
there, so uploading the same file again is an ordinary incremental ingest (unchanged, or
replaced). Its source is shown as the file name alone, not the path inside the data folder.

The file name comes from the uploader, so it is made safe first (``safe_name``): whatever it
holds (``../``, an absolute or Windows path, NUL or other control characters, a device name such
as ``CON``, bidirectional overrides, lookalike slashes, hundreds of bytes), the file lands in that
folder under a readable version of the name.
"""

from __future__ import annotations

import re
import shutil
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from assistant.errors import DuplicateUpload, StoreBusy

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.settings import Settings
    from ingest.pipeline import ChunkListener, IngestReport, Listener

#: Longest stored file name, in UTF-8 bytes (file systems allow 255; leave room to spare).
MAX_NAME_BYTES = 200
#: Names Windows keeps for devices, with or without an extension ("CON", "nul.txt", "COM1.md").
_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))]
)
_SEPARATORS = re.compile(r"[/\\]")
_FORBIDDEN = re.compile(r'[<>:"|?*]')  # not allowed in Windows file names


def safe_name(name: str) -> str:
    """A file name for the upload called ``name``: its last path component, read as a person
    would (NFKC: fullwidth "／" is "/"), without control, format (bidi override, zero-width) or
    unassigned characters, leading dots (hidden files) or trailing dots and spaces, Windows'
    reserved characters replaced by "_", a device name prefixed with "_", cut to
    ``MAX_NAME_BYTES`` keeping the extension; "upload" if nothing is left."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    parts = [p for p in _SEPARATORS.split(text) if p.strip(" .")]
    text = _FORBIDDEN.sub("_", parts[-1] if parts else "")
    text = " ".join(text.split()).strip(" .")
    if text.split(".")[0].strip().upper() in _DEVICES:
        text = "_" + text
    if len(text.encode("utf-8")) > MAX_NAME_BYTES:
        suffix = Path(text).suffix if len(Path(text).suffix) <= 16 else ""
        budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
        stem = text[: len(text) - len(suffix)].encode("utf-8")[:budget]
        text = stem.decode("utf-8", "ignore").rstrip(" .") + suffix
    return text or "upload"


def folder(settings: Settings, collection: str) -> Path:
    """The folder that keeps ``collection``'s uploads (created on demand); ``ValueError`` for
    an invalid collection name, before anything is created."""
    from assistant.settings import check_collection_name

    path = Path(settings.data_dir) / "uploads" / check_collection_name(collection)
    path.mkdir(parents=True, exist_ok=True)
    return path


def target(settings: Settings, collection: str, name: str) -> Path:
    """Where the upload called ``name`` is kept: ``safe_name(name)``, always directly inside
    ``folder(settings, collection)``."""
    home = folder(settings, collection)
    path = home / safe_name(name)
    if path.parent.resolve() != home.resolve():  # safe_name makes this impossible; be sure
        raise ValueError(f"refused to keep an upload named {name!r} outside {home}")
    return path


def _write(path: Path, data: Path | BinaryIO) -> str:
    """Copy ``data`` (a file, or an open binary stream) to ``path``; returns it."""
    if path.is_symlink():
        path.unlink()  # write a file of our own, never through a link planted there
    if isinstance(data, Path):
        shutil.copyfile(data, path)
    else:
        with open(path, "wb") as out:
            shutil.copyfileobj(data, out)
    return str(path)


#: Held while uploads are written and ingested. Two uploads under one name share a file: without
#: it, one upload's ingest could read the other's bytes (or its half-written file) and report
#: them as its own. Ingests are one at a time anyway (the store's write lock), and like the
#: write lock it is waited for ``BRIEF_WRITE_WAIT_S`` at most (then ``StoreBusy``).
_ADDING = threading.Lock()


def add(
    assistant: Assistant,
    collection: str,
    files: Sequence[tuple[str, Path | BinaryIO]],
    extra: list[str] | None = None,
    on_file: Listener | None = None,
    on_chunks: ChunkListener | None = None,
) -> IngestReport:
    """Keep ``files`` (name, data) and ingest them, with ``extra`` sources (web addresses),
    into ``collection``; returns the ingest report.

    An upload that fails or is skipped (corrupt, empty, an unsupported type) does not stay in
    the uploads folder: the file it replaced, if any, is put back, so the folder keeps matching
    what is stored and a later ingest of it does not meet the bad file. So does every upload
    of a run that raises (the store locked by another process, say).

    Two files of one call that would be kept under the same name are refused
    (``DuplicateUpload``) before anything is written: the second would replace the first, and
    the stored file it set aside would be lost. The web addresses are fetched before anything
    is locked; ``StoreBusy`` when another upload or write holds on beyond
    ``BRIEF_WRITE_WAIT_S``.
    """
    duplicates(files)
    fetched = assistant.fetch(extra) if extra else None
    if not _ADDING.acquire(timeout=assistant.settings.write_wait_s):
        for download in (fetched or {}).values():
            download.close()
        raise StoreBusy(
            f"another upload has not finished within {assistant.settings.write_wait_s:g} s; "
            "try again when it has"
        )
    try:
        kept: list[tuple[str, Path | None]] = []
        try:
            for name, data in files:
                path = target(assistant.settings, collection, name)
                previous = _set_aside(path)
                kept.append((_write(path, data), previous))
            report = assistant.ingest(
                [*(path for path, _ in kept), *(extra or [])],
                collection=collection,
                on_file=on_file,
                on_chunks=on_chunks,
                fetched=fetched,
            )
        except BaseException:
            for kept_path, previous in kept:
                _undo(Path(kept_path), previous)
            raise
        status = {r.source: r.status for r in report.results}
        for kept_path, previous in kept:
            if status.get(str(Path(kept_path).resolve())) in ("failed", "skipped"):
                _undo(Path(kept_path), previous)
            elif previous is not None:
                previous.unlink(missing_ok=True)
        return report
    finally:
        _ADDING.release()


def duplicates(files: Sequence[tuple[str, object]]) -> None:
    """``DuplicateUpload`` if two of ``files`` (name, data) would be kept under one name."""
    seen: dict[str, str] = {}
    for name, _ in files:
        kept = safe_name(name)
        if kept in seen:
            raise DuplicateUpload(
                f"two files would be kept as {kept!r} ({seen[kept]!r} and {name!r}): upload "
                "files of one name one at a time, or rename one"
            )
        seen[kept] = name


def _set_aside(target: Path) -> Path | None:
    """Move an existing upload out of the way (a hidden name, which ingest skips)."""
    if not target.is_file() or target.is_symlink():
        return None
    aside = target.with_name(f".{target.name}.previous")
    target.replace(aside)
    return aside


def _undo(path: Path, previous: Path | None) -> None:
    """Drop a kept upload, putting back the file it replaced."""
    if previous is not None and previous.exists():
        previous.replace(path)
    else:
        path.unlink(missing_ok=True)


def shown(settings: Settings, source: str) -> str:
    """How to name a document's source to a person: an upload by its file name."""
    uploads = Path(settings.data_dir) / "uploads"
    path = Path(source)
    if path.is_relative_to(uploads) or path.is_relative_to(uploads.resolve()):
        return path.name
    return source
