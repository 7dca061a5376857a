"""An OpenAI-compatible face: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client (the ``openai`` package, LangChain's ``ChatOpenAI``, chat front ends) can
talk to the assistant: the last user message is the question, the earlier turns are the
conversation, the model name picks the collection: one the key may read (``GET /v1/models``
lists them), else 404 ``not_found`` as on the HTTP API. Responses are the standard ones with extra
fields (on the response, or on the last chunk of a stream): ``citations``, ``abstained``, the
answer's ``sentences`` (each with its citations and ``supported``), what verification
``dropped`` of a chat model's reply and why, and the short answer, ``short`` ("Priya
Raman"), ``short_citation``, ``short_start``, ``short_end`` and
``short_view``. The message content stays the cited answer text itself, so that it is the same
text as the other faces' ``text``; a client that wants the short answer shown reads ``short``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event

from assistant.errors import QuestionError
from assistant.faces.errors import ApiError, api_error, checked_turn, refusing
from assistant.faces.schemas import TURN_CHARS, ChatRequest, body_as, bounded

if TYPE_CHECKING:
    from assistant.answering.answer import Answer
    from assistant.core import Assistant
    from assistant.faces.access import Guard

#: The answer's own fields every response carries beside the message (with the short answer).
CHECKED_FIELDS = ("citations", "abstained", "sentences", "dropped")


OWNER = "briefing-assistant"
#: The short answer's fields, as every response or last chunk ends.
SHORT_FIELDS = ("short", "short_citation", "short_start", "short_end", "short_view")


def _text(content: str | list[dict[str, Any]] | None) -> str:
    """A message's words: a string as it is; of a list of parts (``{"type": "text", ...}``,
    images...), the text blocks langchain-core reads from it (``content_blocks``), one space
    between parts as a person reads them."""
    if not isinstance(content, list):
        return content or ""
    from langchain_core.messages import HumanMessage

    parts: list[str | dict[Any, Any]] = [*content]
    blocks = HumanMessage(content=parts).content_blocks
    return " ".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")


def create_openai_router(assistant: Assistant, guard: Guard) -> APIRouter:
    """The ``/v1`` routes over ``assistant``, behind ``guard``'s ask scope."""
    from assistant.answering.answer import CitationEvent, Done, TextDelta
    from assistant.faces.access import grant, readable, visible
    from assistant.faces.render import answer_with_views
    from assistant.faces.view_links import ViewLinks

    router = APIRouter(prefix="/v1", tags=["openai-compatible"])
    scope = [Depends(guard.needs("ask"))]
    settings = assistant.settings
    links = ViewLinks(settings)
    chat_request = bounded(settings).chat  # the request body, with this server's limits

    def answer_fields(
        answer: Answer, collection: str, request: Request, *keys: str
    ) -> dict[str, Any]:
        """``keys`` of the answer as the HTTP API gives it, then its short answer; its viewer
        links open only the cited paragraphs unless the caller's key is an admin's."""
        admin = guard.scope_of(request.headers.get("authorization")) == "admin"
        data = answer_with_views(answer, collection, links.signer(paragraph=not admin))
        return {k: data[k] for k in (*keys, *SHORT_FIELDS)}

    def collection_for(request: Request, model: str) -> str:
        # The model is a collection the key may read; any other name is the API's 404 (an
        # empty one: the key's own collection).
        return readable(grant(request), model, assistant.collections(), settings.collection)

    def turns(req: ChatRequest) -> tuple[str, list[dict[str, str]]]:
        said = [(m.role, _text(m.content)) for m in req.messages if m.role in ("user", "assistant")]
        if not said or said[-1][0] != "user":
            raise ApiError(422, "invalid_request", "the last message must be the user's")
        question = checked_turn(settings, said[-1][1], len(said) - 1)
        for _, content in said[:-1]:
            if len(content) > TURN_CHARS:  # a turn of many parts: bounded as a whole here
                raise ApiError(
                    413,
                    "history_too_long",
                    f"a turn of the conversation is {len(content):,} characters long; the "
                    f"limit is {TURN_CHARS:,}",
                )
        return question, [{"role": r, "content": c} for r, c in said[:-1]]

    @router.get("/models", summary="Collections, as models", dependencies=scope)
    def models(request: Request) -> JSONResponse:
        names = visible(grant(request), assistant.collections(), settings.collection)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": n, "object": "model", "created": 0, "owned_by": OWNER} for n in names
                ],
            }
        )

    @router.post(
        "/chat/completions",
        summary="Chat completion with cited answers (stream or not)",
        dependencies=scope,
    )
    @body_as(chat_request)
    def completions(req: ChatRequest, request: Request) -> Any:
        question, history = turns(req)
        collection = collection_for(request, req.model)
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not req.stream:
            with refusing():
                answer = assistant.ask(question, history=history, collection=collection)
            return JSONResponse(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": req.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer.text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    **answer_fields(answer, collection, request, *CHECKED_FIELDS),
                }
            )

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            body = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": req.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return format_sse_event(data_str=json.dumps(body, ensure_ascii=False))

        def events() -> Iterator[bytes]:
            yield chunk({"role": "assistant", "content": ""})
            try:
                for event in assistant.stream(question, history=history, collection=collection):
                    if isinstance(event, TextDelta):
                        yield chunk({"content": event.text})
                    elif isinstance(event, CitationEvent):
                        continue
                    elif isinstance(event, Done):
                        fields = (*CHECKED_FIELDS, "text")
                        done = answer_fields(event.answer, collection, request, *fields)
                        yield chunk({}, "stop", **done)
            except Exception as exc:  # the stream has begun: say so in it
                # Only a refused question is told in words; anything else by its kind.
                refusal = api_error(exc) if isinstance(exc, QuestionError) else None
                message = refusal.message if refusal else type(exc).__name__
                yield format_sse_event(data_str=json.dumps({"error": {"message": message}}))
            yield format_sse_event(data_str="[DONE]")

        # Framed by FastAPI (``data: ...`` and a blank line), as OpenAI's own stream is.
        return EventSourceResponse(events())

    return router
