"""The request bodies the faces accept (HTTP API, OpenAI-compatible routes, MCP tools): validated
before any work, every text field and list within a limit.

The whole body is bounded before it is read (``BRIEF_MAX_REQUEST_MB``,
``assistant/faces/http/gate.py``); then each field:

- ``question`` and ``focus``: ``BRIEF_MAX_QUESTION_CHARS``, once white space is collapsed;
- ``history``: ``BRIEF_MAX_HISTORY_MESSAGES`` turns of ``TURN_CHARS`` each;
- ``filters.source``, ``filters.doc_id``: ``FILTER_VALUES`` values of ``ADDRESS_CHARS`` each;
- ``collection``: ``COLLECTION_CHARS`` (what a valid name is, is checked after); ``url``:
  ``ADDRESS_CHARS``;
- OpenAI-compatible: ``model`` ``MODEL_CHARS``; ``messages`` twice
  ``BRIEF_MAX_HISTORY_MESSAGES`` + 1 (the turns, the question, as many system messages); each
  message's ``role`` ``ROLE_CHARS``, its ``content`` ``TURN_CHARS`` or ``CONTENT_PARTS``
  parts (the turns made of parts are measured once their text is joined).

The limits from the settings are a server's: ``bounded(settings)`` makes the bodies it
validates, and its published schema (``/openapi.json``) states them. A value over its limit is
refused with the code the faces use for it (``refusal``): 413 ``question_too_long``,
``history_too_long``, ``filters_too_long``; 422 ``focus_too_long``, ``invalid_collection``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from assistant.faces.errors import ApiError, checked_focus, checked_turn, history_refusal

if TYPE_CHECKING:
    from assistant.settings import Settings

#: A past turn of a conversation (an answer with its markers is far shorter).
TURN_CHARS = 20_000
#: A path, URL or document id.
ADDRESS_CHARS = 2_000
#: Values one filter may list (the store fails beyond some 32,000, slowly).
FILTER_VALUES = 100
#: The longest valid collection name (``assistant/settings.py``: ``COLLECTION_NAME``).
COLLECTION_CHARS = 63
#: The OpenAI-compatible face's model name (a collection, or any name for the default).
MODEL_CHARS = 256
#: A message's role on the OpenAI-compatible face ("user", "assistant", "system"...).
ROLE_CHARS = 32
#: Parts of one message's content on the OpenAI-compatible face (text, images...).
CONTENT_PARTS = 64
#: The type of a validation error that stands for a face's refusal (``refusal``).
REFUSED = "refused"


def _at_most(chars: int) -> AfterValidator:
    """At most ``chars`` characters, counted without refusing lone surrogates (which
    ``Field(max_length)`` does), for text the faces clean before they read it."""

    def check(text: str) -> str:
        if len(text) > chars:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": chars},
            )
        return text

    return AfterValidator(check)


def _refused_over(chars: int, check: Callable[[str], object]) -> AfterValidator:
    """Refused as ``check`` refuses (its ``ApiError``: code, status and message) when longer
    than ``chars``: the face's own check, run by the schema."""

    def validate(text: str) -> str:
        if len(text) > chars:
            try:
                check(text)
            except ApiError as exc:
                context = {"message": exc.message, "status": exc.status, "code": exc.code}
                raise PydanticCustomError(REFUSED, "{message}", context) from None
        return text

    return AfterValidator(validate)


Text = Annotated[str, Field(max_length=ADDRESS_CHARS)]
Texts = Annotated[list[Text], Field(max_length=FILTER_VALUES)]
CollectionName = Annotated[str, Field(max_length=COLLECTION_CHARS)]


class Message(BaseModel):
    """A turn of the conversation so far."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=TURN_CHARS)


class Filters(BaseModel):
    """Which sources an answer may come from."""

    model_config = ConfigDict(extra="forbid")

    source: Text | Texts | None = Field(
        None, description=f"Path(s) or URL(s), at most {FILTER_VALUES}."
    )
    doc_id: Text | Texts | None = Field(
        None, description=f"Document id(s), at most {FILTER_VALUES}."
    )
    date_from: date | None = Field(None, description="Documents dated on or after (ISO day).")
    date_to: date | None = Field(None, description="Documents dated on or before (ISO day).")

    def as_dict(self) -> dict[str, Any] | None:
        return self.model_dump(exclude_none=True, mode="json") or None


class AskRequest(BaseModel):
    """A question, with the conversation so far and where to look."""

    question: str = Field(description="The question, in plain words.")
    history: list[Message] = Field(
        default_factory=list, description="Earlier turns, oldest first (for follow-ups)."
    )
    collection: CollectionName | None = Field(
        None, description="Collection to ask (default: settings)."
    )
    filters: Filters | None = Field(None, description="Restrict the sources.")


class BriefRequest(BaseModel):
    """What to brief on: a collection, optionally narrowed to a focus."""

    collection: CollectionName | None = Field(
        None, description="Collection to brief (default: settings)."
    )
    focus: str | None = Field(
        None,
        description="Narrow the briefing to a topic, e.g. 'export controls' (at most as long "
        "as a question may be).",
    )


class UrlRequest(BaseModel):
    """A web page to ingest."""

    url: str = Field(pattern=r"^https?://", max_length=ADDRESS_CHARS)
    collection: CollectionName | None = None


class ChatMessage(BaseModel):
    """A message of the OpenAI-compatible face; fields we do not use are accepted."""

    model_config = ConfigDict(extra="allow")

    role: str = Field(max_length=ROLE_CHARS)
    content: (
        Annotated[str, _at_most(TURN_CHARS), Field(json_schema_extra={"maxLength": TURN_CHARS})]
        | Annotated[list[dict[str, Any]], Field(max_length=CONTENT_PARTS)]
        | None
    ) = None


class ChatRequest(BaseModel):
    """The standard request; fields we do not use (temperature...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(
        max_length=MODEL_CHARS,
        description="A collection the key may read (see /v1/models); any other: 404.",
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


# --- a server's bodies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bodies:
    """The request bodies as one server validates them (``bounded``)."""

    ask: type[AskRequest]
    brief: type[BriefRequest]
    chat: type[ChatRequest]


def bounded(settings: Settings) -> Bodies:
    """The bodies with the limits of ``settings``: the question and the focus, the length of
    a conversation."""
    chars = settings.max_question_chars
    turns = settings.max_history_messages
    stated = Field(json_schema_extra={"maxLength": chars})  # as the published schema says it
    ask = create_model(
        "AskRequest",
        __base__=AskRequest,
        question=(
            Annotated[str, _refused_over(chars, lambda q: checked_turn(settings, q, 0)), stated],
            Field(
                description=f"The question, in plain words: at most {chars:,} characters once "
                "white space is collapsed."
            ),
        ),
        history=(
            list[Message],
            Field(
                default_factory=list,
                max_length=turns,
                description=f"Earlier turns, oldest first (for follow-ups); at most {turns}.",
            ),
        ),
    )
    brief = create_model(
        "BriefRequest",
        __base__=BriefRequest,
        focus=(
            Annotated[str, _refused_over(chars, lambda f: checked_focus(settings, f)), stated]
            | None,
            Field(
                None,
                description="Narrow the briefing to a topic, e.g. 'export controls' (at most "
                f"{chars:,} characters, as a question).",
            ),
        ),
    )
    chat = create_model(
        "ChatRequest",
        __base__=ChatRequest,
        messages=(
            list[ChatMessage],
            Field(
                min_length=1,
                max_length=2 * turns + 1,
                description=f"The conversation, the question last: at most {turns} earlier "
                "turns, and as many other messages (system...).",
            ),
        ),
    )
    return Bodies(ask=ask, brief=brief, chat=chat)


F = TypeVar("F", bound=Callable[..., Any])


def body_as(model: Any, parameter: str = "req") -> Callable[[F], F]:
    """Have FastAPI validate a route's ``parameter`` as ``model``: the server's bounded body
    (``bounded``), a subclass of the type the route's signature names, which exists only once
    the settings are known. Put it under the route's decorator: it sets the annotation that
    FastAPI then reads."""

    def annotate(route: F) -> F:
        route.__annotations__[parameter] = model
        return route

    return annotate


# --- over a limit: the faces' refusals ------------------------------------------------------


def refusal(errors: Sequence[Any], body: Any, settings: Settings) -> ApiError | None:
    """The refusal that validation ``errors`` of a request ``body`` stand for when a value is
    over its limit, with the code the faces give it; None for any other invalid request."""
    for error in errors:
        if error.get("type") == REFUSED:
            context = error["ctx"]
            return ApiError(context["status"], context["code"], context["message"])
    for error in errors:
        if error.get("type") in ("too_long", "string_too_long"):
            return _over(error, body, settings)
    return None


def _over(error: Any, body: Any, settings: Settings) -> ApiError:
    """The refusal of a value over its limit (``error``, a validation error of ``body``)."""
    loc = [part for part in error.get("loc", ()) if part != "body"]
    value = error.get("input")
    size = len(value) if isinstance(value, str | list) else 0
    field = str(loc[0]) if loc else "body"
    if field == "history" and len(loc) == 1:
        refused = history_refusal(settings, size)
        if refused is not None:
            return refused
    if field in ("history", "messages") and len(loc) >= 3 and isinstance(loc[1], int):
        messages = body.get(field) if isinstance(body, dict) else None
        if field == "messages" and isinstance(messages, list) and loc[1] == len(messages) - 1:
            return ApiError(
                413,
                "question_too_long",
                f"the question is {size:,} characters long; the limit is "
                f"{settings.max_question_chars:,}",
            )
        return ApiError(
            413,
            "history_too_long",
            f"a turn of the conversation is {size:,} characters long; the limit is {TURN_CHARS:,}",
        )
    if field == "messages":
        return ApiError(
            413,
            "history_too_long",
            f"the conversation has {size} messages; the limit is "
            f"{2 * settings.max_history_messages + 1}",
        )
    if field == "filters" and len(loc) >= 2:
        name = f"filters.{loc[1]}"
        message = (
            f"{name} lists {size:,} values; the limit is {FILTER_VALUES}"
            if isinstance(value, list)
            else f"a value of {name} is {size:,} characters long; the limit is {ADDRESS_CHARS:,}"
        )
        return ApiError(413, "filters_too_long", message)
    if field == "collection":
        return ApiError(
            422,
            "invalid_collection",
            f"the collection name is {size:,} characters long; a name has at most "
            f"{COLLECTION_CHARS}",
        )
    where = ".".join(str(part) for part in loc)
    return ApiError(413, f"{field}_too_long", f"{where}: {error.get('msg', 'too long')}")
