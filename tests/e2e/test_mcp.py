"""The Model Context Protocol server, driven by the official SDK's own client: over stdio
(``brief mcp`` as a subprocess, as a desktop client starts it) and over streamable HTTP (a real
uvicorn on 127.0.0.1: the API server with ``BRIEF_MCP=true``, and ``brief mcp --http``), on a
real store holding the test article."""

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, MEMO, VENV_BIN, free_port, served, stop, wait_for

ADMIN, WIDGET = "admin-key-0123456789abcdef", "widget-key-0123456789abcdef"
READ_TOOLS = {"ask", "search", "brief", "list_documents", "list_collections"}
T = TypeVar("T")


def run(session: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(session())


def error_of(result: Any) -> dict[str, str]:
    """A tool error's ``{"code", "message"}`` (its text is the HTTP API's error body)."""
    assert result.is_error, result
    return json.loads(result.content[0].text)["error"]


async def verbatim(client: Client, citation: dict[str, Any]) -> bool:
    """Whether the citation's quote is the document resource's text at its offsets."""
    read = await client.read_resource(citation["resource"])
    text = read.contents[0].text
    return text[citation["start"] : citation["end"]] == citation["quote"] != ""


def http_client(url: str, key: str | None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers=headers, timeout=120)
    return Client(streamable_http_client(url, http_client=http))


# --- stdio -----------------------------------------------------------------------------------


def test_stdio_session_as_a_desktop_client_runs_it(tmp_path: Path) -> None:
    """``brief mcp`` started as a subprocess: the tools are listed with their schemas (the
    local user also gets the admin tool), ``ask`` cites words that are verbatim in the document
    resource, ``search`` and ``brief`` answer, bad input is a tool error with the API's codes
    and the server goes on answering, and a document added through the tool is answered from."""
    data = tmp_path / "data"
    assert Assistant(Settings(data_dir=data)).ingest([ARTICLE]).ok
    brief = shutil.which("brief", path=str(VENV_BIN))
    assert brief, "the brief console script is not installed"
    params = StdioServerParameters(
        command=brief, args=["mcp"], env={**os.environ, "BRIEF_DATA_DIR": str(data)}
    )

    async def session() -> None:
        async with Client(params, read_timeout_seconds=120) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == READ_TOOLS | {"add_documents"}
            assert tools["ask"].input_schema["required"] == ["question"]
            assert "citation" in tools["ask"].description.lower()
            assert tools["search"].input_schema["properties"]["k"]["maximum"] == 50

            answer = await client.call_tool("ask", {"question": "Who founded Kestrel?"})
            data = answer.structured_content
            assert not answer.is_error and not data["abstained"]
            assert data["short"] == "Priya Raman" and "[1]" in data["text"]
            cite = data["citations"][0]
            assert "Priya Raman" in cite["quote"] and cite["location"] == "paragraph 4"
            assert cite["supported"] and cite["view"].startswith("/view/default/")
            assert await verbatim(client, cite)

            found = await client.call_tool("search", {"query": "rocket engines", "k": 2})
            passages = found.structured_content["passages"]
            assert len(passages) == 2 and passages[0]["score"] >= passages[1]["score"] > 0
            assert all(p["location"].startswith("paragraph") for p in passages)

            briefing = (await client.call_tool("brief", {})).structured_content
            assert briefing["key_points"] and not briefing["empty"]
            for cite in briefing["citations"][:5]:
                assert await verbatim(client, cite)

            empty = await client.call_tool("ask", {"question": "   "})
            assert error_of(empty) == {"code": "empty_question", "message": "the question is empty"}
            wrong = await client.call_tool("search", {"query": "engines", "k": "many"})
            assert error_of(wrong)["code"] == "invalid_request"
            assert "k:" in error_of(wrong)["message"]

            added = await client.call_tool(
                "add_documents", {"sources": [str(MEMO)], "collection": "memos"}
            )
            assert not added.is_error, added.content
            assert added.structured_content["results"][0]["status"] == "ingested"
            listed = await client.call_tool("list_collections", {})
            assert listed.structured_content["collections"] == {"default": 1, "memos": 1}
            memo = await client.call_tool(
                "ask", {"question": "How much would the new depot cost?", "collection": "memos"}
            )
            assert "38 million pounds" in memo.structured_content["text"]
            assert await verbatim(client, memo.structured_content["citations"][0])

    run(session)


# --- HTTP, mounted in the API server (BRIEF_MCP=true) ----------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The API server with the MCP server at /mcp, keys set, the test article stored."""
    data = tmp_path_factory.mktemp("mcp") / "data"
    # allow_private_urls: the test's web server is on loopback.
    settings = Settings(
        data_dir=data,
        mcp=True,
        api_keys=f"{ADMIN}:admin,{WIDGET}:ask",
        max_question_chars=500,
        allow_private_urls=True,
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    with served(assistant) as client:
        yield client


@pytest.fixture
def mcp_url(api: httpx.Client) -> str:
    return f"{str(api.base_url).rstrip('/')}/mcp"


def test_http_lists_the_admin_tool_to_admin_keys_only(mcp_url: str) -> None:
    async def names(key: str) -> set[str]:
        async with http_client(mcp_url, key) as client:
            return {t.name for t in (await client.list_tools()).tools}

    assert run(lambda: names(WIDGET)) == READ_TOOLS
    assert run(lambda: names(ADMIN)) == READ_TOOLS | {"add_documents"}


def test_http_ask_cites_the_document_verbatim(api: httpx.Client, mcp_url: str) -> None:
    """With an ask key: the answer's citation quotes the document resource at its offsets, and
    its signed viewer link opens the document on this server."""

    async def session() -> dict[str, Any]:
        async with http_client(mcp_url, WIDGET) as client:
            answer = await client.call_tool("ask", {"question": "Where is Kestrel based?"})
            assert not answer.is_error
            data = answer.structured_content
            assert data["short"] == "Pune" and not data["abstained"]
            assert await verbatim(client, data["citations"][0])
            return data["citations"][0]

    cite = run(session)
    assert "&t=" in cite["view"]  # signed, since keys are set
    page = api.get(cite["view"])
    assert page.status_code == 200 and cite["quote"] in page.text


def test_http_follow_up_search_and_brief(mcp_url: str) -> None:
    async def session() -> None:
        async with http_client(mcp_url, WIDGET) as client:
            history = [
                {"role": "user", "content": "Who founded Kestrel?"},
                {"role": "assistant", "content": "Priya Raman founded it. [1]"},
            ]
            follow = await client.call_tool(
                "ask", {"question": "What did she acknowledge?", "history": history}
            )
            assert "acknowledged" in follow.structured_content["text"]

            found = await client.call_tool("search", {"query": "How much did KX1 cost?"})
            passages = found.structured_content["passages"]
            assert 1 <= len(passages) <= 5 and "$18.5 million" in passages[0]["text"]
            assert {"score", "location", "start", "end", "resource"} <= set(passages[0])

            briefing = await client.call_tool("brief", {"focus": "export rules"})
            data = briefing.structured_content
            assert data["focus"] == "export rules" and data["key_points"]
            marks = {n for point in data["key_points"] for n in point["citations"]}
            assert marks <= {c["n"] for c in data["citations"]}

            docs = await client.call_tool("list_documents", {})
            (doc,) = docs.structured_content["documents"]
            assert doc["title"].startswith("European Export Rules")
            resources = (await client.list_resources()).resources
            assert doc["resource"] in [r.uri for r in resources]

    run(session)


def test_http_admin_tool_refused_with_an_ask_key(api: httpx.Client, mcp_url: str) -> None:
    """The ask key may not add documents: the same refusal as the API's, and nothing added."""

    async def call() -> Any:
        async with http_client(mcp_url, WIDGET) as client:
            return await client.call_tool("add_documents", {"sources": ["https://example.org/"]})

    refused = error_of(run(call))
    from_api = api.get("/api/v1/documents", headers={"Authorization": f"Bearer {WIDGET}"})
    assert from_api.status_code == 403
    assert refused == from_api.json()["error"]
    assert refused == {"code": "forbidden", "message": "this key may only ask questions"}
    admin = {"Authorization": f"Bearer {ADMIN}"}
    assert len(api.get("/api/v1/documents", headers=admin).json()["documents"]) == 1


def test_http_admin_key_adds_a_web_page(mcp_url: str, web_server: tuple[str, Path]) -> None:
    """An admin key adds a page by URL (a server path is refused over HTTP) to a new
    collection, and is then answered from it, citing it verbatim; an ask key, which names no
    collection, reads the default one only (issue 24): the new one is not found for it."""
    base, root = web_server
    (root / "tram.html").write_text(
        "<html><head><title>Tram extension</title></head><body><article><h1>Tram extension</h1>"
        "<p>The tram extension to Northfield will open in September 2027, the city said.</p>"
        "</article></body></html>"
    )

    async def session() -> None:
        async with http_client(mcp_url, ADMIN) as admin:
            local = await admin.call_tool("add_documents", {"sources": [str(MEMO)]})
            assert error_of(local)["code"] == "invalid_request"
            added = await admin.call_tool(
                "add_documents", {"sources": [f"{base}/tram.html"], "collection": "web"}
            )
            assert not added.is_error, added.content
            (result,) = added.structured_content["results"]
            assert result["status"] == "ingested" and result["title"] == "Tram extension"
            question = {"question": "When will the tram extension open?", "collection": "web"}
            answer = await admin.call_tool("ask", question)
            data = answer.structured_content
            assert "September 2027" in data["text"]
            assert await verbatim(admin, data["citations"][0])
        async with http_client(mcp_url, WIDGET) as client:
            refused = error_of(await client.call_tool("ask", question))
            assert refused["code"] == "not_found" and "'web'" in refused["message"]

    run(session)


@pytest.mark.parametrize(
    "arguments",
    [
        {"question": "   "},
        {"question": "why " * 200},  # over the server's 500 characters
        {"question": "Who?", "collection": "../etc"},
        {"question": "Who?", "history": [{"role": "user", "content": "x"}] * 41},
    ],
)
def test_http_bad_input_is_the_apis_error(
    api: httpx.Client, mcp_url: str, arguments: dict[str, Any]
) -> None:
    """Each is a tool error with exactly the code and message ``POST /api/v1/ask`` gives."""

    async def call() -> Any:
        async with http_client(mcp_url, WIDGET) as client:
            return await client.call_tool("ask", arguments)

    from_api = api.post(
        "/api/v1/ask", json=arguments, headers={"Authorization": f"Bearer {WIDGET}"}
    )
    assert from_api.status_code in (413, 422)
    assert error_of(run(call)) == from_api.json()["error"]


def test_http_wrong_types_and_unknown_names_keep_the_server_answering(mcp_url: str) -> None:
    async def session() -> None:
        async with http_client(mcp_url, WIDGET) as client:
            wrong = error_of(await client.call_tool("ask", {"question": 42}))
            assert wrong == {
                "code": "invalid_request",
                "message": "question: Input should be a valid string",
            }
            missing = error_of(await client.call_tool("ask", {}))
            assert missing["code"] == "invalid_request" and "question" in missing["message"]
            nowhere = error_of(await client.call_tool("brief", {"collection": "nowhere"}))
            assert nowhere["code"] == "not_found" and "'nowhere'" in nowhere["message"]
            huge_k = error_of(await client.call_tool("search", {"query": "x", "k": 10_000}))
            assert huge_k["code"] == "invalid_request"
            long_focus = error_of(await client.call_tool("brief", {"focus": "x" * 600}))
            assert long_focus["code"] == "focus_too_long"
            unknown = error_of(await client.call_tool("delete_everything", {}))
            assert unknown["code"] == "not_found"
            with pytest.raises(MCPError):
                await client.read_resource("brief://default/0000000000000000")
            # Still serving.
            fine = await client.call_tool("list_collections", {})
            assert fine.structured_content["collections"]["default"] == 1

    run(session)


def test_an_unreachable_chat_model_is_the_apis_error(tmp_path: Path) -> None:
    """With a chat model whose server is down, ask is a tool error the agent may retry later
    (the API's 503 ``model_unavailable``), and the server goes on serving."""
    settings = Settings(
        data_dir=tmp_path / "data",
        mcp=True,
        llm="fake-model",
        llm_base_url=f"http://127.0.0.1:{free_port()}/v1",
        llm_timeout_s=5,
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok

    async def session(url: str) -> dict[str, str]:
        async with http_client(url, None) as client:
            down = error_of(await client.call_tool("ask", {"question": "Who founded Kestrel?"}))
            found = await client.call_tool("search", {"query": "Who founded Kestrel?"})
            assert not found.is_error and found.structured_content["passages"]
            return down

    with served(assistant) as api:
        down = run(lambda: session(f"{str(api.base_url).rstrip('/')}/mcp"))
        from_api = api.post("/api/v1/ask", json={"question": "Who founded Kestrel?"})
    assert from_api.status_code == 503
    assert down["code"] == from_api.json()["error"]["code"] == "model_unavailable"
    assert down["message"]


def test_http_needs_a_valid_key(api: httpx.Client, mcp_url: str) -> None:
    """Without a valid key nothing passes; the refusal is a JSON-RPC error that carries the
    API's error, so an MCP client shows the API's message."""
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    unauthorized = {
        "code": "unauthorized",
        "message": "send a valid API key: Authorization: Bearer <key>",
    }
    for headers in ({}, {"Authorization": "Bearer not-a-key-at-all"}):
        r = api.post("/mcp", json=ping, headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["data"] == unauthorized
        assert api.post("/api/v1/ask", json={"question": "Who?"}, headers=headers).json() == {
            "error": unauthorized
        }

    async def session() -> None:
        async with http_client(mcp_url, "not-a-key-at-all") as client:
            await client.list_tools()

    with pytest.raises(ExceptionGroup) as refused:
        run(session)
    assert refused.group_contains(MCPError, match="send a valid API key", depth=None)


def test_http_rate_limit_applies(tmp_path: Path) -> None:
    """Requests to /mcp count against the key's allowance, as /api/v1 requests do."""
    settings = Settings(
        data_dir=tmp_path / "data", mcp=True, api_keys=f"{WIDGET}:ask", rate_limit_per_minute=3
    )
    widget = {"Authorization": f"Bearer {WIDGET}", "Accept": "application/json, text/event-stream"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with served(Assistant(settings)) as api:
        assert api.get("/api/v1/health", headers=widget).status_code == 200
        codes = [api.post("/mcp", json=ping, headers=widget).status_code for _ in range(3)]
        assert codes[-1] == 429 and 429 not in codes[:-1]
        limited = api.post("/mcp", json=ping, headers=widget)
        assert limited.json()["error"]["data"]["code"] == "rate_limited"
        assert limited.json()["error"]["message"].startswith("too many requests; try again in")
        assert int(limited.headers["Retry-After"]) >= 1


def test_brief_serve_mounts_it_beside_the_chat(tmp_path: Path) -> None:
    """With ``BRIEF_MCP=true`` the web server (chat at /) answers MCP at /mcp too; without
    keys (loopback only) every caller has every tool."""
    from assistant.faces.web.page import make_app

    assistant = Assistant(Settings(data_dir=tmp_path / "data", mcp=True))
    app, _chat = make_app(assistant, samples=False)

    async def session(url: str) -> dict[str, Any]:
        async with http_client(url, None) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == READ_TOOLS | {"add_documents"}
            listed = await client.call_tool("list_collections", {})
            return listed.structured_content

    with served(assistant, app) as api:
        assert api.get("/").status_code == 200
        listed = run(lambda: session(f"{str(api.base_url).rstrip('/')}/mcp"))
        assert listed == {"default": "default", "collections": {}}


def test_without_brief_mcp_the_server_has_no_mcp_route(tmp_path: Path) -> None:
    with served(Assistant(Settings(data_dir=tmp_path / "data"))) as api:
        assert api.post("/mcp", json={}).status_code == 404


# --- brief mcp --http ------------------------------------------------------------------------


def test_brief_mcp_http_command(tmp_path: Path) -> None:
    """``brief mcp --http`` serves /mcp on its own (no keys: loopback, everything allowed)."""
    data = tmp_path / "data"
    assert Assistant(Settings(data_dir=data)).ingest([ARTICLE]).ok
    port = free_port()
    log = tmp_path / "server.log"
    brief = shutil.which("brief", path=str(VENV_BIN))
    assert brief
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [brief, "mcp", "--http", "--port", str(port)],
            env={**os.environ, "BRIEF_DATA_DIR": str(data)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(proc, lambda: httpx.get(f"{url}/healthz").is_success, log, what="brief mcp")

        async def session() -> dict[str, Any]:
            async with http_client(f"{url}/mcp", None) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                assert names == READ_TOOLS | {"add_documents"}
                answer = await client.call_tool("ask", {"question": "How much did KX1 cost?"})
                assert await verbatim(client, answer.structured_content["citations"][0])
                return answer.structured_content

        answer = run(session)
        assert answer["short"] == "$18.5 million"
        # A page elsewhere that rebinds its name to this address is refused.
        rebound = httpx.post(
            f"{url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Host": "attacker.example", "Accept": "application/json, text/event-stream"},
        )
        assert rebound.status_code == 421
    finally:
        stop(proc)
