"""The errors the faces return: one type with its HTTP status and code, the JSON body every
face sends it in, and the question check the HTTP API, the OpenAI-compatible routes and the MCP
tools share."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with its HTTP status, returned as ``{"error": {...}}``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


def checked_turn(settings: Any, question: str, history_messages: int) -> str:
    """The cleaned question, or the ``ApiError`` that refuses it (or its history)."""
    from assistant.answering.responder import QuestionError, clean_question

    try:
        text = clean_question(question, settings.max_question_chars)
    except QuestionError as exc:
        raise ApiError(413 if exc.code == "question_too_long" else 422, exc.code, str(exc)) from exc
    if history_messages > settings.max_history_messages:
        raise ApiError(
            413,
            "history_too_long",
            f"the history has {history_messages} messages; the limit is "
            f"{settings.max_history_messages}",
        )
    return text


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
