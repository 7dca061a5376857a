"""How the faces answer errors: the one table from a domain error (``assistant/errors.py``) to
its HTTP status and code (the HTTP API, the OpenAI-compatible routes, the MCP tools) and to the
CLI's exit status; ``ApiError``, the refusal every web face returns as ``{"error": {...}}``; and
the question check the HTTP API, the OpenAI-compatible routes and the MCP tools share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.errors import (
    DuplicateUpload,
    ModelError,
    ModelUnavailable,
    QuestionError,
    StoreBusy,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from assistant.settings import Settings


class ApiError(Exception):
    """An error with its HTTP status, returned as ``{"error": {...}}``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


@dataclass(frozen=True)
class Answered:
    """How the faces answer one kind of error. ``status`` None: the web faces do not refuse
    with it (it is a crash to them); ``max_chars`` cuts a message that quotes a library."""

    status: int | None
    code: str
    exit_code: int = 2
    headers: dict[str, str] | None = None
    max_chars: int | None = None


#: Domain errors, most specific first (a ``QuestionError`` is a ``ValueError``). A
#: ``ValueError`` is a request the core cannot take as it is (bad filters, a bad collection
#: name on the command line).
ANSWERS: tuple[tuple[type[Exception], Answered], ...] = (
    (QuestionError, Answered(422, "invalid_question")),
    # The chat model's server is down or refused us: the caller may try again later.
    (
        ModelUnavailable,
        Answered(503, "model_unavailable", headers={"Retry-After": "30"}, max_chars=500),
    ),
    # The chat model answered with nothing usable: a bad gateway, not an empty answer.
    (ModelError, Answered(502, "model_error", max_chars=500)),
    (StoreUnavailable, Answered(None, "store_unavailable")),
    # Another write holds the store beyond BRIEF_WRITE_WAIT_S: the caller may try again soon.
    (StoreBusy, Answered(503, "store_busy", headers={"Retry-After": "5"})),
    (DuplicateUpload, Answered(422, "duplicate_upload")),
    (ValueError, Answered(422, "invalid_request")),
)
#: The error types of the table, for ``except``.
DOMAIN_ERRORS: tuple[type[Exception], ...] = tuple(kind for kind, _ in ANSWERS)


def answered(exc: BaseException) -> Answered | None:
    """How the faces answer ``exc``; None when it is none of the domain errors."""
    return next((how for kind, how in ANSWERS if isinstance(exc, kind)), None)


def api_error(exc: BaseException) -> ApiError | None:
    """The ``ApiError`` the web faces refuse ``exc`` with (itself if it is one); None when
    they do not refuse with it (a crash)."""
    if isinstance(exc, ApiError):
        return exc
    how = answered(exc)
    if how is None or how.status is None:
        return None
    message = str(exc)[: how.max_chars] if how.max_chars else str(exc)
    return ApiError(how.status, how.code, message, dict(how.headers) if how.headers else None)


def crash(exc: BaseException | None) -> ApiError:
    """What the web faces answer an unexpected exception with, wherever it happens: 500, the
    code the table gives its kind (``store_unavailable``...) or ``internal``, and its kind
    only; the details stay in the server's log. ``exc`` None: a crash known only by its
    plain-text 500 (a mounted app's)."""
    how = answered(exc) if exc is not None else None
    kind = f" ({type(exc).__name__})" if exc is not None else ""
    message = f"the server failed to answer{kind}; the details are in its log"
    return ApiError(500, how.code if how else "internal", message)


def stream_error(exc: BaseException) -> dict[str, str]:
    """The error object a stream that has begun ends with: the refusal's code and message, or
    for a crash ``internal`` and only its kind (the details stay in the server's log)."""
    refused = api_error(exc)
    if refused is None:
        return error_body("internal", type(exc).__name__)["error"]
    return error_body(refused.code, refused.message)["error"]


@contextmanager
def refusing() -> Iterator[None]:
    """Run a route's call: a domain error raised inside leaves as the ``ApiError`` the web faces
    refuse it with; anything else (a crash) leaves as it is."""
    try:
        yield
    except DOMAIN_ERRORS as exc:
        refusal = api_error(exc)
        if refusal is None:
            raise
        raise refusal from exc


def exit_code(exc: BaseException) -> int | None:
    """The CLI's exit status for ``exc``; None when it is none of the domain errors."""
    how = answered(exc)
    return how.exit_code if how else None


def checked_turn(settings: Settings, question: str, history_messages: int) -> str:
    """The cleaned question, or the ``ApiError`` that refuses it (or its history)."""
    from assistant.answering.responder import clean_question

    try:
        text = clean_question(question, settings.max_question_chars)
    except QuestionError as exc:
        raise ApiError(413 if exc.code == "question_too_long" else 422, exc.code, str(exc)) from exc
    refusal = history_refusal(settings, history_messages)
    if refusal is not None:
        raise refusal
    return text


def history_refusal(settings: Settings, messages: int) -> ApiError | None:
    """The 413 for a conversation of ``messages`` turns, if it has more than the faces take."""
    if messages <= settings.max_history_messages:
        return None
    return ApiError(
        413,
        "history_too_long",
        f"the history has {messages} messages; the limit is {settings.max_history_messages}",
    )


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def checked_focus(settings: Settings, focus: str | None) -> str | None:
    """A briefing's cleaned focus (None when blank), or the ``ApiError`` that refuses it as too
    long: what ``POST /api/v1/brief`` and the MCP ``brief`` tool take."""
    from assistant.answering.responder import clean_question

    try:
        return clean_question(focus, settings.max_question_chars) if focus else None
    except QuestionError as exc:
        if exc.code == "empty_question":
            return None  # blank: no focus
        raise ApiError(
            422,
            "focus_too_long",
            f"the focus is {len(focus or ''):,} characters long; the limit is "
            f"{settings.max_question_chars:,}",
        ) from exc
