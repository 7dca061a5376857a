"""The HTTP API under ``/api/v1``: ask (whole or streamed), brief, documents, collections,
health.

Every answer is ``Answer.to_dict()``; every error is ``{"error": {"code": ..., "message": ...}}``
with a 4xx status. Streams are server-sent events: ``delta`` (a piece of text), ``citation``
(once its marker first appears), ``done`` (the whole verified answer) or ``error``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.datastructures import UploadFile

from assistant.faces import uploads
from assistant.faces.errors import ApiError, checked_focus, checked_turn, refusing, stream_error
from assistant.faces.schemas import AskRequest, BriefRequest, UrlRequest, body_as, bounded

if TYPE_CHECKING:
    from assistant.core import Assistant
    from assistant.faces.access import Guard
    from assistant.settings import Settings

API_PREFIX = "/api/v1"


#: The briefing as Markdown, as ``POST /api/v1/brief?format=md`` returns it.
MARKDOWN_TYPE = "text/markdown; charset=utf-8"


def _versions() -> dict[str, str]:
    out = {}
    for name in ("briefing-assistant", "chromadb", "langchain-core", "gradio", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def create_router(
    assistant: Assistant, ready: Callable[[], bool] | None = None, guard: Guard | None = None
) -> APIRouter:
    """The ``/api/v1`` routes over ``assistant``; ``ready()`` tells whether it has warmed up."""
    from fastapi import Depends

    from assistant.answering.answer import CitationEvent, Done, TextDelta
    from assistant.faces.access import Guard, grant, readable
    from assistant.faces.render import answer_with_views, with_view
    from assistant.faces.view_links import Signer, ViewLinks
    from assistant.settings import check_collection_name

    settings = assistant.settings
    guard = guard or Guard(settings)
    links = ViewLinks(settings)  # citations' viewer addresses (``view``)
    bodies = bounded(settings)  # the request bodies, with this server's limits
    router = APIRouter(prefix=API_PREFIX, tags=["briefing"])
    ask_scope = [Depends(guard.needs("ask"))]
    admin_scope = [Depends(guard.needs("admin"))]

    def collection_of(name: str | None) -> str:
        """A collection to write to (an admin's upload or URL): any valid name; new ones are
        created."""
        try:
            return check_collection_name(name or settings.collection)
        except ValueError as exc:
            raise ApiError(422, "invalid_collection", str(exc)) from exc

    def signer(request: Request) -> Signer:
        """The signer of a request's viewer links: an ask key's open the cited paragraphs
        only, an admin key's whole documents."""
        admin = guard.scope_of(request.headers.get("authorization")) == "admin"
        return links.signer(paragraph=not admin)

    def to_read(request: Request, name: str | None) -> str:
        """A collection to read: one the request's key may read and that exists, else the
        same 404 for both (``access.readable``); reading never creates one."""
        return readable(grant(request), name, assistant.collections(), settings.collection)

    def checked(request: Request, req: AskRequest) -> tuple[str, list[dict[str, str]], str]:
        question = checked_turn(settings, req.question, len(req.history))
        history = [m.model_dump() for m in req.history]
        return question, history, to_read(request, req.collection)

    @router.post("/ask", summary="Ask a question; the whole cited answer", dependencies=ask_scope)
    @body_as(bodies.ask)
    def ask(req: AskRequest, request: Request) -> JSONResponse:
        question, history, collection = checked(request, req)
        sign = signer(request)
        with refusing():  # bad filters, the chat model down
            answer = assistant.ask(
                question,
                history=history,
                collection=collection,
                filters=req.filters.as_dict() if req.filters else None,
            )
        return JSONResponse(answer_with_views(answer, collection, sign))

    @router.post(
        "/ask/stream",
        summary="Ask a question; the answer as server-sent events",
        dependencies=ask_scope,
        # Not EventSourceResponse here: FastAPI would take the route for a generator of
        # events; the route returns one (after refusing a bad request with JSON).
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    @body_as(bodies.ask)
    def ask_stream(req: AskRequest, request: Request) -> EventSourceResponse:
        # Checked before the stream begins: a refusal is a JSON 4xx, not an event.
        question, history, collection = checked(request, req)
        sign = signer(request)

        def events() -> Iterator[bytes]:
            try:
                for event in assistant.stream(
                    question,
                    history=history,
                    collection=collection,
                    filters=req.filters.as_dict() if req.filters else None,
                ):
                    if isinstance(event, TextDelta):
                        yield _sse("delta", {"text": event.text})
                    elif isinstance(event, CitationEvent):
                        cited = with_view(event.citation.to_dict(), collection, sign)
                        yield _sse("citation", cited)
                    elif isinstance(event, Done):
                        yield _sse("done", answer_with_views(event.answer, collection, sign))
            except Exception as exc:  # the stream has begun: report in it, keep serving
                yield _sse("error", stream_error(exc))

        return EventSourceResponse(
            events(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    @router.post(
        "/brief",
        summary="A cited briefing of a collection (JSON, or Markdown with ?format=md)",
        description="Key points, who said what, key figures, a timeline and open questions, "
        "each item citing `citations` by number. JSON: the briefing's fields plus `markdown` "
        "(the export, with markers [n] and its sources). `?format=md` or `Accept: "
        "text/markdown` returns that Markdown as a file to save.",
        dependencies=ask_scope,
        responses={200: {"content": {"application/json": {}, "text/markdown": {}}}},
    )
    @body_as(bodies.brief | None)
    def brief(
        request: Request,
        req: BriefRequest | None = None,
        format: Literal["json", "md"] | None = None,
    ) -> Response:
        from assistant.faces.viewer import briefing_json, export_name

        req = req or BriefRequest()
        collection = to_read(request, req.collection)
        briefing = assistant.brief(collection, focus=checked_focus(settings, req.focus))
        wants_md = format == "md" or (
            format is None and "text/markdown" in request.headers.get("accept", "")
        )
        if wants_md:
            return Response(
                briefing.to_markdown(),
                media_type=MARKDOWN_TYPE,
                headers={
                    "Content-Disposition": f'attachment; filename="{export_name(collection)}"'
                },
            )
        data = briefing_json(briefing)
        sign = signer(request)
        for item in data["citations"]:
            with_view(item, collection, sign)
        return JSONResponse(data)

    @router.get("/documents", summary="The documents of a collection", dependencies=admin_scope)
    def documents(request: Request, collection: str | None = None) -> JSONResponse:
        name = to_read(request, collection)
        return JSONResponse(
            {
                "collection": name,
                "documents": [d.summary() for d in assistant.documents(name)],
            }
        )

    @router.post(
        "/documents",
        summary="Add documents: files (multipart, field 'files') or {url}",
        dependencies=admin_scope,
        openapi_extra={
            "requestBody": {
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "files": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                },
                                "collection": {"type": "string"},
                            },
                            "required": ["files"],
                        }
                    },
                    "application/json": {"schema": UrlRequest.model_json_schema()},
                },
                "required": True,
            }
        },
    )
    async def add_documents(request: Request) -> JSONResponse:
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            files, collection = await _uploads(request, settings)
            name = collection_of(collection)
            report = await run_in_threadpool(uploads.add, assistant, name, files)
        elif kind.startswith("application/json"):
            try:
                body = UrlRequest.model_validate(await request.json())
            except (ValueError, json.JSONDecodeError) as exc:
                raise ApiError(422, "invalid_request", str(exc)[:500]) from exc
            name = collection_of(body.collection)
            report = await run_in_threadpool(assistant.ingest, [body.url], collection=name)
        else:
            raise ApiError(415, "unsupported_media_type", "send multipart/form-data or JSON {url}")
        results = [r.to_dict() for r in report.results]
        for r in results:  # an uploaded file's name, not the temporary folder it was saved in
            if not r["source"].startswith("http"):
                r["source"] = Path(r["source"]).name
        return JSONResponse(
            {"collection": name, "summary": report.summary(), "results": results},
            status_code=200 if report.ok else 207,
        )

    @router.delete("/documents/{doc_id}", summary="Remove a document", dependencies=admin_scope)
    def remove(request: Request, doc_id: str, collection: str | None = None) -> JSONResponse:
        name = to_read(request, collection)
        if assistant.document(doc_id, collection=name) is None:
            raise ApiError(404, "not_found", f"no document {doc_id!r} in {name!r}")
        removed = assistant.remove(doc_id, collection=name)
        return JSONResponse({"removed": [d.summary() for d in removed]})

    @router.get(
        "/collections",
        summary="Collections and their document counts",
        dependencies=admin_scope,
    )
    def collections() -> JSONResponse:
        return JSONResponse({"collections": assistant.collections()})

    @router.get(
        "/health",
        summary="Ready or not; for an admin key also counts, the answerer and versions",
        dependencies=ask_scope,
    )
    def health(request: Request) -> JSONResponse:
        state = {"ready": bool(ready() if ready else True)}
        # The rest describes the installation (package versions tell what to attack): an ask
        # key, public in a widget's page, learns only whether the server is ready.
        if guard.scope_of(request.headers.get("authorization")) != "admin":
            return JSONResponse(state)
        counts = assistant.collections()  # an admin's: every collection
        return JSONResponse(
            {
                **state,
                "collections": len(counts),
                "documents": sum(counts.values()),
                "answerer": settings.llm or "offline",
                "versions": _versions(),
            }
        )

    return router


async def _uploads(
    request: Request, settings: Settings
) -> tuple[list[tuple[str, BinaryIO]], str | None]:
    """The multipart ``files`` (name, stream) within the count and size limits, and the
    ``collection`` field; every limit is checked before anything is kept."""
    form = await request.form(
        max_files=settings.max_upload_files + 1, max_fields=max(10, settings.max_upload_files)
    )
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not files:
        raise ApiError(422, "no_files", "send the documents as multipart field 'files'")
    if len(files) > settings.max_upload_files:
        raise ApiError(
            413,
            "too_many_files",
            f"{len(files)} files; at most {settings.max_upload_files} per request",
        )
    limit = settings.max_file_bytes
    named = []
    for i, upload in enumerate(files):
        name = Path(upload.filename or f"upload-{i}").name or f"upload-{i}"
        size = getattr(upload, "size", None)
        if size is not None and size > limit:
            raise ApiError(
                413, "file_too_large", f"{name} is larger than {settings.max_file_mb:g} MiB"
            )
        named.append((name, upload.file))
    collection = form.get("collection")
    return named, str(collection) if collection else None


def _sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event, framed by FastAPI (``event: ...``, ``data: <JSON>``, a blank
    line; no keep-alive comments, which only FastAPI's generator routes add)."""
    return format_sse_event(event=event, data_str=json.dumps(data, ensure_ascii=False))
