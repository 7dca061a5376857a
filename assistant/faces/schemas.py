"""The request bodies the faces accept (HTTP API, MCP tools): validated before any work."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    """A turn of the conversation so far."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class Filters(BaseModel):
    """Which sources an answer may come from."""

    model_config = ConfigDict(extra="forbid")

    source: str | list[str] | None = Field(None, description="Path(s) or URL(s).")
    doc_id: str | list[str] | None = Field(None, description="Document id(s).")
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
    collection: str | None = Field(None, description="Collection to ask (default: settings).")
    filters: Filters | None = Field(None, description="Restrict the sources.")


class BriefRequest(BaseModel):
    """What to brief on: a collection, optionally narrowed to a focus."""

    collection: str | None = Field(None, description="Collection to brief (default: settings).")
    focus: str | None = Field(
        None,
        description="Narrow the briefing to a topic, e.g. 'export controls' (at most as long "
        "as a question may be).",
    )


class UrlRequest(BaseModel):
    """A web page to ingest."""

    url: str = Field(pattern=r"^https?://", max_length=2000)
    collection: str | None = None
