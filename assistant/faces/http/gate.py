"""The door every request of the web server passes: its key and the size of its body are
checked before anything reads the body, and whatever fails behind the door reaches the client
as the JSON error every route speaks, ``{"error": {"code", "message"}}``.

- **Key first.** On the API's routes (``/api/v1/``, ``/v1/``), a request without a valid key is
  refused (401) before its body is read, and counted against its address (``access.Guard``:
  429 once over the rate). FastAPI reads a body before it runs a route's dependencies, so the
  routes' own check (``Guard.needs``) would come after the read. ``/mcp`` checks its key before
  reading too (``assistant/faces/http/mcp.py``). A sign-in to the chat (``POST /login``, with
  keys set) is counted against its address the same way, before Gradio reads the form.
- **Bounded body.** A body may hold ``BRIEF_MAX_REQUEST_MB``; a file upload (multipart) from
  an admin key, or to the chat, ``Settings.max_upload_bytes``. A declared ``Content-Length``
  over the limit is refused (413) unread; a body without one is counted as it arrives and
  refused once it passes the limit, whatever the route was doing with it.
- **JSON errors.** An exception that escapes a route before its response began is answered
  with 500 and the error's kind only (``errors.crash``; the traceback goes to the log), and the
  plain-text "Internal Server Error" of a mounted app (the chat, MCP) is replaced by the same.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from assistant.faces.errors import ApiError, api_error, crash, error_body

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from assistant.faces.access import Guard
    from assistant.settings import Settings

#: Routes whose key is checked at the door: FastAPI's, which read the body before the key.
KEYED_PREFIXES = ("/api/v1/", "/v1/")
#: The chat's sign-in (Gradio's), whose attempts count against the address.
SIGN_IN_PATHS = frozenset({"/login", "/login/"})

log = logging.getLogger("briefing.http")


class BodyTooLarge(Exception):
    """Raised to the route that reads past the limit; the gate answers 413 in its place."""


class RequestGate:
    """ASGI middleware: the key, the size of the body, and JSON errors (see the module)."""

    def __init__(self, app: ASGIApp, guard: Guard, settings: Settings) -> None:
        self.app = app
        self.guard = guard
        self.request_limit = settings.max_request_bytes
        self.upload_limit = settings.max_upload_bytes
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope)
        try:
            limit = self._admit(request)
            declared = _content_length(request.headers.get("content-length"))
            if declared is not None and declared > limit:
                raise self._too_large(limit)
        except ApiError as refusal:
            await _answer(send, refusal, close=True)  # the body is left unread
            return

        received = 0
        over = started = replaced = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started, replaced
            if replaced:  # the rest of a plain-text 500 already answered in JSON
                return
            if message["type"] == "http.response.start":
                if over:  # the route made an error of its own out of the cut-off body
                    raise BodyTooLarge
                if message["status"] == 500 and _plain_text(message):
                    replaced = started = True
                    await _answer(send, crash(None))
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _answer(send, self._too_large(limit), close=True)
        except Exception as exc:
            if started and not replaced:
                raise  # the response is under way: the server closes the connection
            log.error("%s %s failed", scope["method"], scope["path"], exc_info=exc)
            if not replaced:
                await _answer(send, api_error(exc) or crash(exc))

    def _admit(self, request: Request) -> int:
        """The body limit of ``request``, once its key (API routes) or its sign-in attempt is
        let through; the ``ApiError`` that refuses it otherwise."""
        from assistant.faces.access import address

        path = request.scope["path"]
        upload = request.headers.get("content-type", "").startswith("multipart/form-data")
        if path.startswith(KEYED_PREFIXES):
            granted, _ = self.guard.admit(request.headers.get("authorization"), address(request))
            # Only an admin key may upload: any other request is held to the JSON limit.
            return self.upload_limit if upload and granted == "admin" else self.request_limit
        if path in SIGN_IN_PATHS and request.method == "POST" and not self.guard.open:
            self.guard.count(address(request))
        return self.upload_limit if upload else self.request_limit

    def _too_large(self, limit: int) -> ApiError:
        if limit == self.upload_limit:
            what = (
                f"an upload may carry {self.settings.max_upload_files} files of "
                f"{self.settings.max_file_mb:g} MiB and {self.settings.max_request_mb:g} MiB "
                "of other fields"
            )
        else:
            what = f"a request may carry {self.settings.max_request_mb:g} MiB"
        return ApiError(413, "request_too_large", f"the request body is too large: {what}")


def _content_length(value: str | None) -> int | None:
    """A declared ``Content-Length`` (the server has already refused a malformed one)."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _plain_text(start: Message) -> bool:
    headers = dict(start.get("headers", ()))
    return bytes(headers.get(b"content-type", b"")).startswith(b"text/plain")


async def _answer(send: Send, error: ApiError, close: bool = False) -> None:
    """Send ``error`` as the JSON error; ``close``: the request's body was not read, so the
    connection ends with the answer."""
    body = json.dumps(error_body(error.code, error.message)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), str(v).encode()) for k, v in (error.headers or {}).items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
