"""The MCP server (``assistant/faces/mcp_server.py``) over streamable HTTP at ``/mcp``: mounted
on the API server (``brief mcp --http``, or ``brief serve`` with ``BRIEF_MCP=true``) behind the
same keys, scopes and rate limit as ``/api/v1``, and kept to loopback without keys."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from mcp.server.transport_security import TransportSecuritySettings

from assistant.faces.errors import ApiError, error_body
from assistant.faces.mcp_server import build_server

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

    from assistant.core import Assistant
    from assistant.faces.access import Guard

#: Where the HTTP transport answers, on its own (``brief mcp --http``) or mounted.
MCP_PATH = "/mcp"

#: JSON-RPC error code of a request refused at the door (no valid key, over the rate).
REFUSED_CODE = -32001


class KeyCheck:
    """In front of ``/mcp``: every request needs a valid key (any scope) and is counted against
    its caller's rate, by the very check ``/api/v1`` uses, with its HTTP status and headers.

    The refusal is a JSON-RPC error, which MCP clients show (to anything else they answer only
    "Server returned an error response"): its message is the API's, and its ``data`` the API's
    error object, ``{"code", "message"}``.
    """

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.check = guard.needs("ask")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from fastapi.responses import JSONResponse
        from starlette.requests import Request

        if scope["type"] == "http":
            try:
                self.check(Request(scope))
            except ApiError as exc:
                error = {
                    "code": REFUSED_CODE,
                    "message": exc.message,
                    "data": error_body(exc.code, exc.message)["error"],
                }
                body = {"jsonrpc": "2.0", "id": None, "error": error}
                refusal = JSONResponse(body, status_code=exc.status, headers=exc.headers)
                return await refusal(scope, receive, send)
        await self.app(scope, receive, send)


def mount(app: FastAPI, assistant: Assistant, guard: Guard) -> None:
    """Serve the MCP server at ``/mcp`` of ``app`` (the FastAPI app of
    ``assistant/faces/http/server.py``), its HTTP sessions run by the app's lifespan.

    Stateless, with JSON replies: each request stands alone (the tools need nothing from the
    client in between), so any number of callers cost no session state.
    """
    from starlette.routing import Route

    server = build_server(assistant, guard)
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=_transport_security(),
    )
    app.router.routes.append(Route(MCP_PATH, KeyCheck(inner, guard)))
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with previous(application) as state, server.session_manager.run():
            yield state

    app.router.lifespan_context = lifespan


def _transport_security() -> TransportSecuritySettings:
    """The MCP library's own Host and Origin check is off: the route policy in front of every
    route of the app (``assistant/faces/http/policy.py``) checks both for ``/mcp`` as for the
    rest, with the same names (loopback and ``BRIEF_ALLOWED_HOSTS``) and the same origins."""
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)
