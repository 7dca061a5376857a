"""Where files uploaded through the web chat or the HTTP API are kept, and how they are named.

An upload is copied to ``BRIEF_DATA_DIR/uploads/<collection>/<file name>`` and ingested from
there, so uploading the same file again is an ordinary incremental ingest (unchanged, or
replaced). Its source is shown as the file name alone, not the path inside the data folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, BinaryIO


def folder(settings: Any, collection: str) -> Path:
    """The folder that keeps ``collection``'s uploads (created on demand)."""
    path = Path(settings.data_dir) / "uploads" / collection
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep(settings: Any, collection: str, name: str, data: Path | BinaryIO) -> str:
    """Copy ``data`` (a file, or an open binary stream) in as ``name``; returns its path."""
    target = folder(settings, collection) / (Path(name).name or "upload")
    if isinstance(data, Path):
        shutil.copyfile(data, target)
    else:
        with open(target, "wb") as out:
            shutil.copyfileobj(data, out)
    return str(target)


def shown(settings: Any, source: str) -> str:
    """How to name a document's source to a person: an upload by its file name."""
    if source.startswith(str(Path(settings.data_dir) / "uploads")):
        return Path(source).name
    return source
