"""The web server: one FastAPI app that carries the chat (Gradio, at ``/``) and our own routes.

``/view/<collection>/<doc_id>?start=&end=`` shows a stored document's cleaned text with the
span highlighted; it is what every citation marker and source card links to. Its pages are
plain escaped text under a Content-Security-Policy that forbids scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Viewer pages need nothing but their own inline style; they may be framed by the app only.
VIEWER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'"
)


def create_app(assistant: Any) -> Any:
    """The FastAPI app without the chat: the viewer and a health check."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, JSONResponse

    from assistant.render import viewer_page

    app = FastAPI(title="Briefing Assistant", docs_url=None, redoc_url=None)
    uploads = str(Path(assistant.settings.data_dir) / "uploads")

    @app.get("/view/{collection}/{doc_id}", response_class=HTMLResponse)
    def view(collection: str, doc_id: str, start: int = 0, end: int = 0) -> HTMLResponse:
        try:
            record = assistant.document(doc_id, collection=collection)
        except ValueError:  # not a valid collection name
            record = None
        source = None
        if record is not None and record.source.startswith(uploads):
            source = Path(record.source).name  # uploaded through the page: its file name
        page = viewer_page(record, start, end, source)
        return HTMLResponse(
            page,
            status_code=200 if record else 404,
            headers={"Content-Security-Policy": VIEWER_CSP, "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/healthz")
    def health() -> JSONResponse:
        return JSONResponse({"ok": True})

    return app
