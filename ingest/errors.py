"""Errors a user's input can cause during ingest; each carries a reason a person can read."""

from __future__ import annotations


class IngestError(Exception):
    """A file or URL could not be ingested; ``str(error)`` says why in plain words."""

    kind = "failed"


class UnsupportedFormat(IngestError):
    """The file type is not one we read (we read .txt, .md, .html, .htm, .pdf, .docx)."""

    kind = "unsupported"


class EmptyDocument(IngestError):
    """The file holds no text worth indexing."""

    kind = "empty"


class BinaryFile(IngestError):
    """The file claims to be text but holds binary data."""

    kind = "binary"


class CorruptFile(IngestError):
    """The file is damaged or not what its extension says."""

    kind = "corrupt"


class TooLarge(IngestError):
    """The file, its page count or its unpacked size is over a configured limit."""

    kind = "too large"


class FetchError(IngestError):
    """A URL could not be fetched."""

    kind = "fetch"
