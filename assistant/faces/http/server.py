"""The web server: one FastAPI app that carries the chat (Gradio, at ``/``) and our own routes.

``/api/v1/...`` is the HTTP API (``assistant/faces/http/api.py``), described at ``/openapi.json``
(and at ``/docs`` with ``BRIEF_API_DOCS``);
``/v1/...`` its OpenAI-compatible face (``assistant/faces/http/openai_compat.py``).
``/view/<collection>/<doc_id>?start=&end=`` shows a stored document's cleaned text with the
span highlighted; it is what every citation marker and source card links to. With API keys
set, it wants the signed, expiring token such links carry (``assistant/faces/view_links.py``),
and a link made for an ask key opens the cited paragraph only. Its pages are plain escaped
text under a Content-Security-Policy that forbids scripts. Every route, the chat's included,
answers under one policy of names, origins and cookies (``assistant/faces/http/policy.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from assistant.core import Assistant
    from assistant.settings import Settings

#: Viewer pages need nothing but their own inline style; they may be framed by the app only.
VIEWER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'"
)


def create_app(assistant: Assistant, ready: Callable[[], bool] | None = None) -> FastAPI:
    """The FastAPI app without the chat: the API, its docs, the viewer and a health check."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from assistant.errors import DuplicateUpload, ModelError, ModelUnavailable, StoreBusy
    from assistant.faces import uploads
    from assistant.faces.access import Guard
    from assistant.faces.errors import ApiError, api_error, error_body
    from assistant.faces.http.api import create_router
    from assistant.faces.http.gate import RequestGate
    from assistant.faces.http.openai_compat import create_openai_router
    from assistant.faces.http.policy import RoutePolicy, answered_hosts
    from assistant.faces.render import viewer_page, viewer_refused_page
    from assistant.faces.schemas import refusal as over_limit

    app = FastAPI(
        title="Briefing Assistant",
        description="Cited answers from your documents. Errors are JSON: "
        '{"error": {"code", "message"}}.',
        # Swagger UI loads from a CDN, so it is off unless asked for (BRIEF_API_DOCS); the
        # schema is served from here either way.
        docs_url="/docs" if assistant.settings.api_docs else None,
        redoc_url=None,
    )
    guard = Guard(assistant.settings)
    from assistant.faces.view_links import ViewLinks

    links = ViewLinks(assistant.settings)  # the viewer's links, checked per request
    app.state.guard = guard  # one rate limit per caller, also for routes forwarded to workers
    app.include_router(create_router(assistant, ready, guard))
    app.include_router(create_openai_router(assistant, guard))
    if assistant.settings.mcp:  # BRIEF_MCP: the MCP server at /mcp, under the same keys
        from assistant.faces.http.mcp import mount

        mount(app, assistant, guard)

    # A refusal, the chat model's server down, the store busy with another write, two uploads
    # under one name, wherever a route meets them: as ``assistant/faces/errors.py`` answers
    # them (503 with Retry-After for the model and the busy store).
    @app.exception_handler(ApiError)
    @app.exception_handler(ModelUnavailable)
    @app.exception_handler(ModelError)
    @app.exception_handler(StoreBusy)
    @app.exception_handler(DuplicateUpload)
    async def refused(request: Request, exc: Exception) -> JSONResponse:
        refusal = api_error(exc)
        assert refusal is not None  # every one of these types is refused
        return JSONResponse(
            error_body(refusal.code, refusal.message),
            status_code=refusal.status,
            headers=refusal.headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A value over its limit: the code the faces give it (413 question_too_long...).
        over = over_limit(exc.errors(), exc.body, assistant.settings)
        if over is not None:
            return await refused(request, over)
        problems = "; ".join(
            f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return JSONResponse(error_body("invalid_request", problems[:1000]), status_code=422)

    @app.get(
        "/view/{collection}/{doc_id}",
        response_class=HTMLResponse,
        response_model=None,
        include_in_schema=False,
    )
    def view(
        collection: str,
        doc_id: str,
        start: int = 0,
        end: int = 0,
        t: str = "",
        e: int = 0,
        p: int = 0,
    ) -> HTMLResponse:
        headers = {"Content-Security-Policy": VIEWER_CSP, "X-Content-Type-Options": "nosniff"}
        refused = links.allows(collection, doc_id, start, end, e, bool(p), t)
        if refused:
            # With API keys, only a link the server made (an answer's citation) opens a
            # document, until it expires; whether the document exists is not told.
            page = viewer_refused_page(expired=refused == "expired")
            return HTMLResponse(page, status_code=403, headers=headers)
        try:
            record = assistant.document(doc_id, collection=collection)
        except ValueError:  # not a valid collection name
            record = None
        source = uploads.shown(assistant.settings, record.source) if record else None
        # ``p``: a link made for an ask key (signed so): the cited paragraph only.
        page = viewer_page(record, start, end, source, paragraph=bool(p))
        return HTMLResponse(page, status_code=200 if record else 404, headers=headers)

    @app.get("/healthz", response_model=None, include_in_schema=False)
    def health() -> JSONResponse:
        return JSONResponse({"ok": True})

    add_widget(app, assistant.settings)
    # Every request's key and body size, before anything reads it; JSON for every error.
    app.add_middleware(RequestGate, guard=guard, settings=assistant.settings)
    # Outermost, in front of every route (the chat's too, once mounted): the names the server
    # answers to, the sites whose pages may call it, SameSite=Strict cookies. A refused host or
    # origin learns nothing more, and costs no one's rate.
    hosts = answered_hosts(assistant.settings, keyed=not guard.open)
    app.add_middleware(
        RoutePolicy,
        allowed_origins=assistant.settings.widget_origins,
        hosts=hosts,
        names=assistant.settings.allowed_hosts,
    )
    return app


# --- the help widget: /widget.js ------------------------------------------------------------

#: The widget's script (``assistant/faces/http/static/widget.js``), served at ``/widget.js``.
WIDGET_SCRIPT = Path(__file__).resolve().parent / "static" / "widget.js"
#: Where the script names the server's default collection; filled in when it is served.
WIDGET_COLLECTION_SLOT = '"__BRIEF_COLLECTION__"'


def add_widget(app: FastAPI, settings: Settings) -> None:
    """Serve ``/widget.js``; which sites' pages may call the API is the route policy's
    (``assistant/faces/http/policy.py``, ``BRIEF_WIDGET_ORIGINS``)."""
    import hashlib
    import json

    from fastapi import Header, Response

    # The default collection is filled in so that source links name it when a page doesn't.
    script = WIDGET_SCRIPT.read_text(encoding="utf-8")
    body = script.replace(WIDGET_COLLECTION_SLOT, json.dumps(settings.collection)).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
    headers = {
        # Short-lived, then revalidated: a new version reaches every site within five minutes.
        "Cache-Control": "public, max-age=300",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        # Sites that isolate themselves (Cross-Origin-Embedder-Policy) may still load it.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }

    @app.get("/widget.js", response_model=None, include_in_schema=False)
    def widget_js(if_none_match: str | None = Header(None)) -> Response:
        if if_none_match == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
