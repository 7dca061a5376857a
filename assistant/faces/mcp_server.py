"""The assistant as a Model Context Protocol server: cited answers as tools, documents as
resources, for agents and desktop assistants. Its HTTP transport, at ``/mcp`` behind the API's
keys, is ``assistant/faces/http/mcp.py``.

``brief mcp`` serves it over stdio (a desktop client starts it as a subprocess; it runs as the local
user, who may do everything) or, with ``--http``, over streamable HTTP at ``/mcp`` of the API
server; with ``BRIEF_MCP=true`` the web server (``brief serve``) mounts it at ``/mcp`` too. Over
HTTP every request needs what ``/api/v1`` needs (``assistant/faces/access.py``): a valid key (any
scope reads: ask, search, brief, the lists, the documents, of the collections the key may read)
and the caller's rate; adding documents needs the admin scope, and the tool is listed only to
callers that have it. A collection the key may not read is ``not_found``, as one that does not
exist, in tools and resources alike, and is listed nowhere; no read creates a collection.

Tools return the same data as the HTTP API (``render.answer_with_views``,
``viewer.briefing_json``, ``DocumentRecord.summary``), each citation and passage also
naming its document's resource, ``brief://<collection>/<doc_id>``, whose text is the cleaned
text that ``start``/``end`` index. A refused call is a tool error whose text is the API's error
body, ``{"error": {"code", "message"}}``, with the API's codes and messages.
"""

# No ``from __future__ import annotations``: the SDK reads the tools' annotations (their JSON
# schemas) at run time, and some name values local to ``build_server``.

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.types import Resource as McpResource
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError

from assistant.errors import ModelError, ModelUnavailable, QuestionError, StoreBusy
from assistant.faces.errors import ApiError, api_error, checked_focus, checked_turn, error_body
from assistant.faces.schemas import Message

if TYPE_CHECKING:
    from assistant.answering.answer import Answer
    from assistant.core import Assistant
    from assistant.faces.access import Guard
    from assistant.settings import KeyGrant, Settings

#: A document as a resource: its cleaned text, which citations' offsets index.
DOCUMENT_URI = "brief://{collection}/{doc_id}"
#: The one tool that writes; listed and allowed only for the admin scope.
ADMIN_TOOL = "add_documents"
#: The most passages ``search`` returns at once.
MAX_SEARCH_K = 50

INSTRUCTIONS = """\
Answers questions from the user's own documents (news articles, reports, memos), with
citations that quote the documents verbatim. Use `ask` for a question: its `text` carries
markers [n]; each citation n gives the document's title, where in it ("paragraph 7", "page 4"),
the exact quoted words, and `resource` (brief://collection/doc_id), whose text
[start:end] is the quote. When `abstained` is true the documents do not answer: say so rather
than guess. `search` finds passages, `brief` summarises a whole collection, `list_collections`
and `list_documents` show what there is. Errors are JSON: {"error": {"code", "message"}}."""


class Refused(ToolError):
    """A call the HTTP API would refuse too: its error ``code`` and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    @classmethod
    def of(cls, exc: ApiError) -> "Refused":
        return cls(exc.code, exc.message)


def error_text(code: str, message: str) -> str:
    """A tool error's text: the HTTP API's error body as JSON."""
    return json.dumps(error_body(code, message), ensure_ascii=False)


def document_uri(collection: str, doc_id: str) -> str:
    return f"brief://{collection}/{doc_id}"


class BriefServer(MCPServer):
    """``MCPServer`` over an ``Assistant``: every tool failure reads as the API's error, and
    every stored document is listed as a resource."""

    def __init__(self, assistant: "Assistant", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assistant = assistant

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            causes = _causes(exc)
            busy = (ModelUnavailable, ModelError, StoreBusy)
            down = next((c for c in causes if isinstance(c, busy)), None)
            refusal = api_error(down) if down is not None else None
            # the chat model's server down or its reply unusable, the store busy: try again later
            if refusal is not None:
                raise ToolError(error_text(refusal.code, refusal.message)) from exc
            # A crash: the SDK logs it with its traceback; the caller learns only its kind.
            raise UnexpectedToolError(error_text("internal", type(causes[-1]).__name__)) from exc
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, Refused):
                raise ToolError(error_text(cause.code, cause.message)) from exc
            if isinstance(cause, ValidationError):  # arguments that do not fit the schema
                raise ToolError(error_text("invalid_request", _problems(cause))) from exc
            raise ToolError(error_text("not_found", f"no tool {name!r}")) from exc

    async def list_resources(self) -> list[McpResource]:
        """Every document of every collection, as ``brief://<collection>/<doc_id>`` (kept to
        the caller's collections by ``_ListedByKey``)."""
        return [*await super().list_resources(), *await asyncio.to_thread(self._documents)]

    def _documents(self) -> list[McpResource]:
        out = []
        for collection in self.assistant.collections():
            for record in self.assistant.documents(collection):
                out.append(
                    McpResource(
                        uri=document_uri(collection, record.doc_id),
                        name=record.title or record.doc_id,
                        description=f"{record.source} (collection {collection})",
                        mime_type="text/plain",
                    )
                )
        return out


def _problems(exc: ValidationError) -> str:
    """Validation errors as the HTTP API words them (``assistant/faces/http/server.py``)."""
    problems = "; ".join(
        f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
    )
    return problems[:1000]


def _causes(exc: BaseException) -> list[BaseException]:
    """What ``exc`` was raised from, outermost first."""
    chain: list[BaseException] = []
    cause = exc.__cause__
    while cause is not None and len(chain) < 20:
        chain.append(cause)
        cause = cause.__cause__
    return chain or [exc]


def build_server(assistant: "Assistant", guard: "Guard | None" = None) -> BriefServer:
    """The MCP server over ``assistant``.

    ``guard`` (``access.Guard``) is for HTTP: each call's scope comes from its request's key.
    Without one (stdio) the caller is the local user, with every scope.
    """
    from assistant.faces.access import readable, visible
    from assistant.faces.render import answer_with_views, with_view
    from assistant.faces.view_links import view_signer
    from assistant.faces.viewer import briefing_json
    from assistant.settings import check_collection_name

    settings = assistant.settings
    sign = view_signer(settings)
    with _logging_left_alone():
        server = BriefServer(
            assistant,
            name="briefing-assistant",
            title="Briefing Assistant",
            instructions=INSTRUCTIONS,
            version=_version(),
            middleware=[_ListedByKey(guard, settings.collection)],
        )

    def collection_of(name: str | None, ctx: Context) -> str:
        """The collection to read: one the caller's key may read and that exists (a typo is
        told, not answered from an empty store), else ``not_found`` for both, as on the HTTP
        API (``access.readable``)."""
        try:
            return readable(_grant(guard, ctx), name, assistant.collections(), settings.collection)
        except ApiError as exc:
            raise Refused.of(exc) from exc

    def cited(item: dict[str, Any], collection: str) -> dict[str, Any]:
        item["resource"] = document_uri(collection, item["doc_id"])
        return item

    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    Collection = Annotated[
        str | None,
        Field(description="Collection to use; default: the server's (see list_collections)."),
    ]

    @server.tool(annotations=read_only)
    def ask(
        question: Annotated[str, Field(description="The question, in plain words.")],
        ctx: Context,
        collection: Collection = None,
        history: Annotated[
            list[Message] | None,
            Field(
                description="The conversation so far, oldest first, for follow-up questions "
                "('What did she say next?')."
            ),
        ] = None,
    ) -> dict[str, Any]:
        """Answer a question from the documents, citing them word for word.

        Returns `text` (the answer; every sentence carries markers [n]), `short` (a few words
        that answer a who/which/where/when/how-much question, or null), `abstained` (true when
        the documents do not answer: then `text` says so and `related` lists the closest
        passages; do not guess), and `citations`: for each marker n, the document's `title`,
        `location` ("paragraph 7", "page 4"), the exact `quote`, its `start`/`end` in the
        document's text, `supported` (false: the passage does not back that sentence), `view`
        (the viewer's path on the HTTP server) and `resource` (brief://collection/doc_id, the
        document's text, of which [start:end] is the quote).
        """
        history = history or []
        try:
            text = checked_turn(settings, question, len(history))
        except ApiError as exc:
            raise Refused.of(exc) from exc
        name = collection_of(collection, ctx)
        answer = _asked(assistant, text, [m.model_dump() for m in history], name)
        data = answer_with_views(answer, name, sign)
        for item in (*data["citations"], *data["related"]):
            cited(item, name)
        return {"collection": name, **data}

    @server.tool(annotations=read_only)
    def search(
        query: Annotated[str, Field(description="What to look for, in plain words.")],
        ctx: Context,
        collection: Collection = None,
        k: Annotated[
            int, Field(ge=1, le=MAX_SEARCH_K, description="How many passages (1-50).")
        ] = 5,
    ) -> dict[str, Any]:
        """Find the passages closest to a query, by meaning and key words, best first.

        Returns `passages`, each with its `text`, `score` (0-1, higher is closer), `title`,
        `location` ("paragraph 7", "page 4"), `start`/`end` in the document's text, `view` and
        `resource` (brief://collection/doc_id). Passages are raw material: use `ask` for an
        answer.
        """
        try:
            text = checked_turn(settings, query, 0)
        except ApiError as exc:
            raise Refused.of(exc) from exc
        name = collection_of(collection, ctx)
        passages = assistant.search(text, k=k, collection=name)
        return {
            "collection": name,
            "query": text,
            "passages": [cited(with_view(p.to_dict(), name, sign), name) for p in passages],
        }

    @server.tool(name="brief", annotations=read_only)
    def brief_tool(
        ctx: Context,
        collection: Collection = None,
        focus: Annotated[
            str | None,
            Field(description="Narrow it to a topic, e.g. 'export controls' (optional)."),
        ] = None,
    ) -> dict[str, Any]:
        """A one-page cited briefing of a whole collection.

        Returns its sections: `key_points`, `who_said_what` (quotes and their speakers),
        `key_figures` (amounts, counts, dates and what they measure), `timeline` and
        `open_questions`, each item citing `citations` by number (title, location, exact
        quote, start/end, view, resource), and `markdown`, the whole briefing as a document
        with markers [n] and its sources. `empty` is true when there is nothing to brief on.
        """
        name = collection_of(collection, ctx)
        briefing = assistant.brief(name, focus=_focus(settings, focus))
        data = briefing_json(briefing)
        for item in data["citations"]:
            cited(with_view(item, name, sign), name)
        return data

    @server.tool(annotations=read_only)
    def list_documents(ctx: Context, collection: Collection = None) -> dict[str, Any]:
        """The documents of a collection, newest first: `doc_id`, `title`, `source` (path or
        URL), `date`, `kind`, `chunks`, and `resource` (brief://collection/doc_id: read it for
        the document's full text)."""
        name = collection_of(collection, ctx)
        return {
            "collection": name,
            "documents": [
                {**d.summary(), "resource": document_uri(name, d.doc_id)}
                for d in assistant.documents(name)
            ],
        }

    @server.tool(annotations=read_only)
    def list_collections(ctx: Context) -> dict[str, Any]:
        """The collections and how many documents each holds; `default` is the one used when a
        tool is given none."""
        granted = _grant(guard, ctx)
        counts = assistant.collections()
        if granted.collections is not None:  # an ask key: its own collections only
            mine = visible(granted, counts, settings.collection)
            counts = {c: counts.get(c, 0) for c in mine}
        return {"default": granted.home(settings.collection), "collections": counts}

    @server.tool(
        name=ADMIN_TOOL,
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False),
    )
    def add_documents(
        sources: Annotated[
            list[str],
            Field(
                min_length=1,
                max_length=settings.max_upload_files,
                description="Web pages by http(s) URL; when the server runs on this machine "
                "(stdio), also files and folders by path.",
            ),
        ],
        ctx: Context,
        collection: Annotated[
            str | None,
            Field(description="Collection to add to (created if new); default: the server's."),
        ] = None,
    ) -> dict[str, Any]:
        """Add documents to a collection (needs the admin scope). A changed document replaces
        its old version; an unchanged one is left as it is.

        Returns each source's `status` (ingested, unchanged, failed, skipped), `doc_id`,
        `title`, `chunks` and, when it failed, the `reason`.
        """
        if _grant(guard, ctx).scope != "admin":
            raise Refused("forbidden", "this key may only ask questions")
        try:  # an admin's: any valid name, created if new
            name = check_collection_name(collection or settings.collection)
        except ValueError as exc:
            raise Refused("invalid_collection", str(exc)) from exc
        if guard is not None:
            local = [s for s in sources if not s.startswith(("http://", "https://"))]
            if local:
                raise Refused(
                    "invalid_request",
                    f"over HTTP only web pages (http/https URLs) can be added, not {local[0]!r}; "
                    "upload files with POST /api/v1/documents",
                )
        report = assistant.ingest(sources, collection=name)
        return {
            "collection": name,
            "summary": report.summary(),
            "results": [r.to_dict() for r in report.results],
        }

    @server.resource(
        DOCUMENT_URI,
        name="document",
        description="A stored document's cleaned text; citations' start/end index it.",
        mime_type="text/plain",
    )
    def document(collection: str, doc_id: str, ctx: Context) -> str:
        record = None
        # A collection the key may not read: not found, as a document that is not there.
        if _grant(guard, ctx).reads(collection):
            try:
                record = assistant.document(doc_id, collection=collection)
            except ValueError:  # not a valid collection name
                record = None
        if record is None:
            raise ResourceNotFoundError(f"no document {doc_id!r} in {collection!r}")
        return record.text

    return server


def _asked(
    assistant: "Assistant", question: str, history: list[dict[str, str]], collection: str
) -> "Answer":
    """``Assistant.ask``, a question it refuses worded as the API words it (``api.ask``)."""
    try:
        return assistant.ask(question, history=history, collection=collection)
    except QuestionError as exc:
        refusal = api_error(exc)
        assert refusal is not None  # a question is always refused, never a crash
        raise Refused.of(refusal) from exc


def _focus(settings: "Settings", focus: str | None) -> str | None:
    """The cleaned focus (None when blank), refused when too long, as ``POST /api/v1/brief``."""
    try:
        return checked_focus(settings, focus)
    except ApiError as exc:
        raise Refused.of(exc) from exc


def _grant(guard: "Guard | None", ctx: Any) -> "KeyGrant":
    """What the caller may do: everything for the local user (stdio), else what its key
    grants (``/mcp`` lets no request without a valid key in: a missing one reads nothing)."""
    from assistant.faces.access import EVERYTHING
    from assistant.settings import KeyGrant

    if guard is None:
        return EVERYTHING
    request = ctx.request_context.request if ctx is not None else None
    return guard.grant_of(_authorization(request)) or KeyGrant("ask", ())


def _authorization(request: object) -> str | None:
    headers = getattr(request, "headers", None)
    return headers.get("authorization") if headers is not None else None


class _ListedByKey:
    """Over HTTP, a listing shows the caller what its key may use: the admin tool to admin
    keys only, and only the documents (resources) of the collections the key may read. Over
    stdio the local user has every scope."""

    def __init__(self, guard: "Guard | None", default: str) -> None:
        self.guard = guard
        self.default = default

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        result = await call_next(ctx)
        if ctx.method not in ("tools/list", "resources/list") or self.guard is None:
            return result
        from assistant.settings import KeyGrant

        granted = self.guard.grant_of(_authorization(ctx.request)) or KeyGrant("ask", ())
        if ctx.method == "tools/list":
            if granted.scope == "admin":
                return result
            return _kept(result, "tools", lambda tool: _field(tool, "name") != ADMIN_TOOL)
        if granted.collections is None:
            return result
        mine = ("", *granted.collections)  # "": a resource that is not a document
        return _kept(result, "resources", lambda r: _collection_of(r) in mine)


def _kept(result: Any, field: str, keep: Any) -> Any:
    """A listing (its wire form, a dict, or the model) with only the items ``keep`` keeps."""
    if isinstance(result, dict) and isinstance(result.get(field), list):
        return {**result, field: [item for item in result[field] if keep(item)]}
    items = getattr(result, field, None)
    if isinstance(items, list):
        return result.model_copy(update={field: [item for item in items if keep(item)]})
    return result


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _collection_of(resource: Any) -> str:
    """The collection of a listed ``brief://<collection>/<doc_id>`` ("" for any other)."""
    uri = str(_field(resource, "uri") or "")
    if not uri.startswith("brief://"):
        return ""
    return uri[len("brief://") :].split("/", 1)[0]


@contextlib.contextmanager
def _logging_left_alone() -> Iterator[None]:
    """Making an ``MCPServer`` calls ``logging.basicConfig``, which would give the root logger
    a handler of the SDK's (and every library's debug lines a way out) when it has none yet:
    the process's logging is not the SDK's to set."""
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        yield
    finally:
        root.removeHandler(placeholder)


def _version() -> str:
    from assistant import __version__

    return __version__
