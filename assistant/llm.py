"""Answers written by a chat model (any LangChain chat model), then verified like any other.

``make_chat_model`` builds the model named by ``BRIEF_LLM`` with LangChain's
``init_chat_model`` (OpenAI, Ollama, Anthropic, ... and any OpenAI-compatible server through
``BRIEF_LLM_BASE_URL``). ``LLMWriter`` numbers the passages into the prompt (``prompts/``),
streams the model's tokens while holding back anything that looks like a marker until it is
complete (so a bogus "[9]" never reaches the reader), and rewrites follow-up questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from assistant.answer import NOT_FOUND
from assistant.passages import Passage
from assistant.prompts import render
from assistant.settings import Settings


class ModelUnavailable(RuntimeError):
    """The configured chat model could not be built or reached."""


def make_chat_model(settings: Settings) -> Any:
    """The LangChain chat model named by the settings (temperature 0, streaming)."""
    from langchain.chat_models import init_chat_model

    name = settings.llm or ""
    kwargs: dict[str, Any] = {"temperature": 0, "timeout": settings.llm_timeout_s}
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
        if ":" not in name:
            name = f"openai:{name}"
    if settings.llm_api_key is not None:
        kwargs["api_key"] = settings.llm_api_key.get_secret_value()
    elif settings.llm_base_url:
        kwargs["api_key"] = "not-needed"  # local servers ignore it; the client insists on one
    try:
        return init_chat_model(name, **kwargs)
    except Exception as exc:  # unknown provider, missing integration package, bad options
        raise ModelUnavailable(f"cannot use chat model {name!r}: {exc}") from exc


def passages_block(passages: list[Passage]) -> str:
    """The passages as the model sees them: numbered, with title and location."""
    parts = []
    for i, p in enumerate(passages, start=1):
        parts.append(f"[{i}] {p.title} ({p.location})\n{p.text}")
    return "\n\n".join(parts)


def conversation_block(history: Sequence[dict[str, str]] | None, turns: int = 6) -> str:
    """The last few turns of the conversation, as plain lines."""
    lines = []
    for turn in list(history or [])[-turns:]:
        role = "User" if turn.get("role") == "user" else "Assistant"
        content = " ".join(str(turn.get("content") or "").split())[:1500]
        if content:
            lines.append(f"{role}: {content}")
    return "\n".join(lines)


class MarkerFilter:
    """Passes text through, holding back "[..." until it is a complete, valid marker.

    Valid markers are renumbered by first use; invalid ones vanish with the space before them.
    """

    _PARTIAL = re.compile(r"\s?\[\d{0,3}$")
    _FULL = re.compile(r"\s?\[(\d{1,3})\]")

    def __init__(self, count: int) -> None:
        self.count = count
        self.order: dict[int, int] = {}
        self._held = ""

    def feed(self, text: str) -> str:
        """Text safe to show now."""
        buffer = self._held + text
        out = self._FULL.sub(self._replace, buffer)
        partial = self._PARTIAL.search(out)
        if partial:
            self._held = out[partial.start() :]
            return out[: partial.start()]
        self._held = ""
        return out

    def flush(self) -> str:
        """Whatever is still held at the end (an unfinished bracket is just text)."""
        held, self._held = self._held, ""
        return held

    def _replace(self, match: re.Match[str]) -> str:
        k = int(match.group(1))
        if not 1 <= k <= self.count:
            return ""
        n = self.order.setdefault(k, len(self.order) + 1)
        space = match.group(0)[0] if match.group(0)[0].isspace() else ""
        return f"{space}[{n}]"


class LLMWriter:
    """Writes answers and rewrites follow-ups with a chat model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The chat model, built on first use."""
        if self._model is None:
            self._model = make_chat_model(self.settings)
        return self._model

    def messages(
        self, question: str, passages: list[Passage], history: Sequence[dict[str, str]] | None
    ) -> list[tuple[str, str]]:
        """System and user messages for one answer."""
        conversation = conversation_block(history)
        return [
            ("system", render("answer", not_found=NOT_FOUND)),
            (
                "human",
                render(
                    "question",
                    passages=passages_block(passages),
                    conversation=f"Conversation so far:\n{conversation}\n\n"
                    if conversation
                    else "",
                    question=question,
                ),
            ),
        ]

    def write(
        self, question: str, passages: list[Passage], history: Sequence[dict[str, str]] | None
    ) -> Iterator[tuple[str, str]]:
        """(raw, shown) pieces of the answer as it streams.

        ``raw`` is the model's text as written (markers are passage numbers, for verification);
        ``shown`` is safe to display at once: markers checked and numbered by first use.
        """
        markers = MarkerFilter(len(passages))
        try:
            for chunk in self.model.stream(self.messages(question, passages, history)):
                piece = chunk.content if isinstance(chunk.content, str) else _text(chunk.content)
                yield piece, markers.feed(piece)
        except ModelUnavailable:
            raise
        except Exception as exc:  # network, auth, rate limit: one clear error for the caller
            raise ModelUnavailable(f"the chat model failed: {type(exc).__name__}: {exc}") from exc
        rest = markers.flush()
        if rest:
            yield "", rest

    def rewrite(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """A follow-up question made standalone by the model (the question itself on failure)."""
        prompt = render("condense", conversation=conversation_block(history), question=question)
        try:
            reply = self.model.invoke([("human", prompt)])
        except Exception:  # rewriting is a refinement: on failure, search the question as asked
            return question
        text = reply.content if isinstance(reply.content, str) else _text(reply.content)
        text = " ".join(text.split()).strip("\"'“”")
        return text if 3 <= len(text) <= 1000 else question


def _text(content: Any) -> str:
    """Text of a multi-part message content (a list of blocks)."""
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return str(content or "")
