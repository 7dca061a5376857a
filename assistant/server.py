"""The web server: one FastAPI app that carries the chat (Gradio, at ``/``) and our own routes.

``/api/v1/...`` is the HTTP API (``assistant/api.py``), documented at ``/docs``; ``/v1/...`` its
OpenAI-compatible face (``assistant/openai_compat.py``).
``/view/<collection>/<doc_id>?start=&end=`` shows a stored document's cleaned text with the
span highlighted; it is what every citation marker and source card links to. Its pages are
plain escaped text under a Content-Security-Policy that forbids scripts.
"""

from __future__ import annotations

from typing import Any

#: Viewer pages need nothing but their own inline style; they may be framed by the app only.
VIEWER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'"
)


def create_app(assistant: Any, ready: Any = None) -> Any:
    """The FastAPI app without the chat: the API, its docs, the viewer and a health check."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from assistant import uploads
    from assistant.access import Guard
    from assistant.api import ApiError, create_router, error_body
    from assistant.openai_compat import create_openai_router
    from assistant.render import viewer_page

    app = FastAPI(
        title="Briefing Assistant",
        description="Cited answers from your documents. Errors are JSON: "
        '{"error": {"code", "message"}}.',
        docs_url="/docs",
        redoc_url=None,
    )
    guard = Guard(assistant.settings)
    app.state.guard = guard  # one rate limit per caller, also for routes forwarded to workers
    app.include_router(create_router(assistant, ready, guard))
    app.include_router(create_openai_router(assistant, guard))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
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
    def view(collection: str, doc_id: str, start: int = 0, end: int = 0) -> HTMLResponse:
        try:
            record = assistant.document(doc_id, collection=collection)
        except ValueError:  # not a valid collection name
            record = None
        source = uploads.shown(assistant.settings, record.source) if record else None
        page = viewer_page(record, start, end, source)
        return HTMLResponse(
            page,
            status_code=200 if record else 404,
            headers={"Content-Security-Policy": VIEWER_CSP, "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/healthz", response_model=None, include_in_schema=False)
    def health() -> JSONResponse:
        return JSONResponse({"ok": True})

    return app
