"""The errors a user can meet, each a type of its own with a message a person can read.

They are defined here, at the bottom of the layers, so that every layer (ingest included) may
raise them and every face may recognise them without importing the layer that raises them.
How each face answers them (an HTTP status and code, an exit status) is decided in one place,
``assistant/faces/errors.py``.
"""

from __future__ import annotations

# --- asking -------------------------------------------------------------------------------


class QuestionError(ValueError):
    """The question cannot be asked as it is: ``code`` "empty_question" or
    "question_too_long"."""

    def __init__(self, message: str, code: str = "invalid_question") -> None:
        super().__init__(message)
        self.code = code


class ModelUnavailable(RuntimeError):
    """The configured chat model could not be built or reached."""


class ModelError(RuntimeError):
    """The chat model was reached but its reply cannot be used: empty, or no text at all
    (a malformed reply). Never taken for "the documents don't say"."""


# --- the store ----------------------------------------------------------------------------


class StoreUnavailable(RuntimeError):
    """The Chroma server named in the settings cannot be reached."""


class StoreBusy(RuntimeError):
    """Another write (of this process or another) holds the store beyond the wait allowed
    (``BRIEF_WRITE_WAIT_S``): try again later."""


class DuplicateUpload(ValueError):
    """Two files of one upload would be kept under the same name."""


# --- ingest: a file or URL that could not be read -----------------------------------------


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
