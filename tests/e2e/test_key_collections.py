"""Keys carry collections (issue 24, items 1 and 7), tried as an attacker would against a real
server on 127.0.0.1: the API, its stream and briefing, the OpenAI-compatible face, MCP and the
viewer's signed links.

The server holds four collections: ``default`` and ``widget`` (the test article), ``faq`` (the
depot memo) and ``private`` (a memo only the admin may read). Its keys:

- ``ADMIN``: admin, every collection;
- ``PLAIN``: ask, naming no collection: ``default`` only;
- ``WIDGET``: ask, bound to ``widget`` and ``faq`` (``KEY:ask@widget+faq``).

An unknown collection and a forbidden one are the same 404 ``not_found``, and a read (ask,
stream, brief, a listing, a model, an MCP call) never creates a collection.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, MEMO, VENV_BIN, served

ADMIN = "admin-key-keycoll-0123456789ab"
PLAIN = "plain-ask-key-keycoll-0123456789"
WIDGET = "widget-ask-key-keycoll-0123456789"
SPEC = f"{ADMIN}:admin,{PLAIN}:ask,{WIDGET}:ask@widget+faq"

PRIVATE_MEMO = (
    "Quillmoor acquisition memo\n\n"
    "The board of Halvard Systems agreed on 4 February 2026 to buy Quillmoor Analytics for 212 "
    "million crowns. Its chief executive, Ilse Varga, asked that nobody outside the board be "
    "told before the June announcement.\n"
)
#: What only collection "private" holds: none of it may reach an ask key.
PRIVATE_WORDS = ("Quillmoor", "Halvard", "212 million", "Varga")
PRIVATE_QUESTION = "Who did Halvard Systems agree to buy?"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def run(session: Any) -> Any:
    return asyncio.run(session())


def mcp_client(url: str, key: str) -> Client:
    http = httpx2.AsyncClient(headers=bearer(key), timeout=120)
    return Client(streamable_http_client(url, http_client=http))


def tool_error(result: Any) -> dict[str, str]:
    assert result.is_error, result
    return json.loads(result.content[0].text)["error"]


def assert_not_found(r: httpx.Response, name: str) -> dict[str, str]:
    """A 404 ``not_found`` JSON error that names ``name`` and nothing of the private memo."""
    assert r.status_code == 404, (r.status_code, r.text[:300])
    error = r.json()["error"]
    assert error["code"] == "not_found" and repr(name) in error["message"], error
    assert not any(word in r.text for word in PRIVATE_WORDS), r.text
    return error


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Assistant]]:
    root = tmp_path_factory.mktemp("keycoll")
    memo = root / "quillmoor.txt"
    memo.write_text(PRIVATE_MEMO)
    settings = Settings(data_dir=root / "data", api_keys=SPEC, mcp=True, rate_limit_per_minute=0)
    assistant = Assistant(settings)
    for collection, source in (
        ("default", ARTICLE),
        ("widget", ARTICLE),
        ("faq", MEMO),
        ("private", memo),
    ):
        assert assistant.ingest([source], collection=collection).ok
    with served(assistant) as client:
        yield client, assistant


def ask(api: httpx.Client, key: str, collection: str | None, path: str = "/api/v1/ask") -> Any:
    body: dict[str, Any] = {"question": PRIVATE_QUESTION}
    if collection is not None:
        body["collection"] = collection
    return api.post(path, json=body, headers=bearer(key))


def chat(api: httpx.Client, key: str, model: str, stream: bool = False) -> httpx.Response:
    body = {
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": PRIVATE_QUESTION}],
    }
    return api.post("/v1/chat/completions", json=body, headers=bearer(key))


# --- the key spec ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (f"{WIDGET}:ask@", "names no collection"),
        (f"{WIDGET}:ask@widget+", "names no collection"),
        (f"{WIDGET}:ask@../etc", "invalid collection name"),
        (f"{WIDGET}:ask@wid get", "invalid collection name"),
        (f"{ADMIN}:admin@private", "admin key reaches every collection"),
        (f"{WIDGET}@widget", "after its scope"),
        (f"{WIDGET}:reader@widget", "unknown API key scope"),
        (f"{WIDGET}:ask,{WIDGET}:ask@faq", "more than once"),
    ],
)
def test_a_malformed_key_spec_is_refused_at_start(spec: str, says: str) -> None:
    """Each mistake is refused when the settings are read, with a message that says which
    entry and what is wrong, and never echoes a key. Before, ``KEY:ask@widget`` was refused
    as an unknown scope ``ask@widget`` only once the server was built, ``KEY@widget`` became
    an admin key named ``KEY@widget``, a key given twice kept its last scope silently, and an
    admin key could not be told apart from one bound to collections."""
    with pytest.raises(ValidationError) as refused:
        Settings(api_keys=spec)
    message = refused.value.errors()[0]["msg"]
    assert says in message, message
    assert "BRIEF_API_KEYS" in message and "entry" in message, message
    for key in (ADMIN, WIDGET):
        assert key not in str(refused.value), str(refused.value)


def test_the_cli_says_what_is_wrong_with_the_spec(tmp_path: Path) -> None:
    """``brief`` with a malformed ``BRIEF_API_KEYS`` stops at once (status 2) with the reason,
    not a traceback, and without the key in it."""
    brief = shutil.which("brief", path=str(VENV_BIN))
    assert brief, "the brief console script is not installed"
    env = {
        **os.environ,
        "BRIEF_DATA_DIR": str(tmp_path / "data"),
        "BRIEF_API_KEYS": f"{ADMIN}:admin@private",
    }
    done = subprocess.run(
        [brief, "collections"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "admin key reaches every collection" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and ADMIN not in done.stderr + done.stdout


# --- every face enforces the key's collections -------------------------------------------------


def test_an_ask_key_that_names_no_collection_reads_default_only(
    world: tuple[httpx.Client, Assistant],
) -> None:
    """The plain ask key (``KEY:ask``) asks ``default`` and nothing else: ``private`` is a 404
    on ask, ask/stream and brief, in JSON and Markdown, with no answer, no quote and no signed
    link. Before, it got 200 with the private memo's words and links that opened it whole."""
    api, _ = world
    assert ask(api, PLAIN, None).status_code == 200
    assert ask(api, PLAIN, "default").status_code == 200
    for collection in ("private", "widget", "faq"):
        assert_not_found(ask(api, PLAIN, collection), collection)
        assert_not_found(ask(api, PLAIN, collection, "/api/v1/ask/stream"), collection)
        brief = api.post("/api/v1/brief", json={"collection": collection}, headers=bearer(PLAIN))
        assert_not_found(brief, collection)
        md = api.post(
            "/api/v1/brief?format=md", json={"collection": collection}, headers=bearer(PLAIN)
        )
        assert_not_found(md, collection)


def test_a_forbidden_collection_is_the_same_404_as_an_unknown_one(
    world: tuple[httpx.Client, Assistant],
) -> None:
    """Whether a collection the key may not read exists is not told: the status, code and
    message are those of a name that exists nowhere (the name aside)."""
    api, _ = world
    for key in (PLAIN, WIDGET):
        for path in ("/api/v1/ask", "/api/v1/ask/stream"):
            forbidden = assert_not_found(ask(api, key, "private", path), "private")
            unknown = assert_not_found(ask(api, key, "nowhere-9", path), "nowhere-9")
            assert forbidden["message"].replace("private", "X") == unknown["message"].replace(
                "nowhere-9", "X"
            )
        forbidden_chat = chat(api, key, "private")
        unknown_chat = chat(api, key, "nowhere-9")
        assert_not_found(forbidden_chat, "private")
        assert_not_found(unknown_chat, "nowhere-9")
        assert forbidden_chat.json()["error"]["message"].replace("private", "X") == (
            unknown_chat.json()["error"]["message"].replace("nowhere-9", "X")
        )


def test_a_key_bound_to_collections_reads_those_only(
    world: tuple[httpx.Client, Assistant],
) -> None:
    """``KEY:ask@widget+faq`` asks ``widget`` (its first: the one a request that names none
    gets) and ``faq``; ``default`` and ``private`` are 404 on every route. Before, the spec
    was refused and no such key could exist."""
    api, _ = world
    mine = api.post(
        "/api/v1/ask", json={"question": "Who founded Kestrel?"}, headers=bearer(WIDGET)
    )
    assert mine.status_code == 200 and mine.json()["citations"]
    assert all(c["view"].startswith("/view/widget/") for c in mine.json()["citations"])
    depot = api.post(
        "/api/v1/ask",
        json={"question": "How much would the new depot cost?", "collection": "faq"},
        headers=bearer(WIDGET),
    )
    assert depot.status_code == 200 and "38 million pounds" in depot.json()["text"]
    for collection in ("default", "private"):
        assert_not_found(ask(api, WIDGET, collection), collection)
        assert_not_found(ask(api, WIDGET, collection, "/api/v1/ask/stream"), collection)
        brief = api.post("/api/v1/brief", json={"collection": collection}, headers=bearer(WIDGET))
        assert_not_found(brief, collection)
    brief = api.post("/api/v1/brief", json={}, headers=bearer(WIDGET))
    assert brief.status_code == 200 and not brief.json()["empty"]
    assert all(c["view"].startswith("/view/widget/") for c in brief.json()["citations"])


def test_the_openai_face_lists_and_answers_the_keys_collections_only(
    world: tuple[httpx.Client, Assistant],
) -> None:
    """``GET /v1/models`` lists the collections the key may read, and a model (collection) it
    may not read is a 404, streamed or not. Before, every key saw every collection there
    (``['default', 'faq', 'private', 'widget']``) and could ask any of them."""
    api, _ = world

    def models(key: str) -> list[str]:
        r = api.get("/v1/models", headers=bearer(key))
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["data"]]

    assert models(PLAIN) == ["default"]
    assert models(WIDGET) == ["faq", "widget"]
    assert models(ADMIN) == ["default", "faq", "private", "widget"]

    assert chat(api, PLAIN, "default").status_code == 200
    assert chat(api, WIDGET, "widget").status_code == 200
    for key, model in ((PLAIN, "private"), (PLAIN, "widget"), (WIDGET, "private")):
        assert_not_found(chat(api, key, model), model)
        assert_not_found(chat(api, key, model, stream=True), model)
    admin = chat(api, ADMIN, "private")
    assert (
        admin.status_code == 200 and "Quillmoor" in admin.json()["choices"][0]["message"]["content"]
    )


def test_health_counts_only_what_the_key_may_read(world: tuple[httpx.Client, Assistant]) -> None:
    """An ask key learns nothing of the collections, not even their number: whether the server
    is ready, and that is all (its own collections' counts would tell it nothing it needs).
    Before, health told every key there were four collections and four documents."""
    api, _ = world
    for key in (PLAIN, WIDGET):
        assert api.get("/api/v1/health", headers=bearer(key)).json() == {"ready": True}
    admin = api.get("/api/v1/health", headers=bearer(ADMIN)).json()
    assert (admin["collections"], admin["documents"]) == (4, 4)


def test_mcp_keeps_to_the_keys_collections(world: tuple[httpx.Client, Assistant]) -> None:
    """Over MCP an ask key lists, asks, searches, briefs and reads (as resources) only the
    documents of its collections; another collection's name is ``not_found``, whether it
    exists or not, and the error lists only the key's own collections. Before, the plain ask
    key listed ``private``, read the memo whole as a resource, and a wrong name was answered
    with every collection's name."""
    api, _ = world
    url = f"{str(api.base_url).rstrip('/')}/mcp"

    async def session(key: str) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with mcp_client(url, key) as client:
            listed = await client.call_tool("list_collections", {})
            seen["collections"] = listed.structured_content
            for tool, args in (
                ("ask", {"question": PRIVATE_QUESTION}),
                ("search", {"query": "Quillmoor acquisition"}),
                ("brief", {}),
                ("list_documents", {}),
            ):
                errors = {}
                for collection in ("private", "nowhere-9"):
                    result = await client.call_tool(tool, {**args, "collection": collection})
                    errors[collection] = tool_error(result)
                    assert errors[collection]["code"] == "not_found", (tool, errors)
                    assert not any(w in result.content[0].text for w in PRIVATE_WORDS)
                forbidden = errors["private"]["message"].replace("'private'", "X")
                unknown = errors["nowhere-9"]["message"].replace("'nowhere-9'", "X")
                assert forbidden == unknown and "private" not in forbidden, errors
            resources = (await client.list_resources()).resources
            seen["resources"] = sorted({str(r.uri).split("/")[2] for r in resources})
            private = (await client.call_tool("list_documents", {})).structured_content
            seen["home"] = private["collection"]
        return seen

    plain = run(lambda: session(PLAIN))
    assert plain["collections"] == {"default": "default", "collections": {"default": 1}}
    assert plain["resources"] == ["default"] and plain["home"] == "default"
    widget = run(lambda: session(WIDGET))
    assert widget["collections"] == {"default": "widget", "collections": {"faq": 1, "widget": 1}}
    assert widget["resources"] == ["faq", "widget"] and widget["home"] == "widget"

    async def read_private(key: str) -> str:
        async with mcp_client(url, key) as client:
            docs = await client.call_tool("list_documents", {"collection": "private"})
            if docs.is_error:  # an ask key: the id is the admin's, found through the admin
                return ""
            uri = docs.structured_content["documents"][0]["resource"]
            return str((await client.read_resource(uri)).contents[0].text)

    assert "Quillmoor" in run(lambda: read_private(ADMIN))
    _, assistant = world
    (memo,) = assistant.documents("private")

    async def read_as(key: str) -> None:
        async with mcp_client(url, key) as client:
            with pytest.raises(MCPError):
                await client.read_resource(f"brief://private/{memo.doc_id}")
            with pytest.raises(MCPError):
                await client.read_resource(f"brief://nowhere-9/{memo.doc_id}")

    for key in (PLAIN, WIDGET):
        run(lambda key=key: read_as(key))


def test_view_links_are_issued_for_and_open_the_keys_collections_only(
    world: tuple[httpx.Client, Assistant],
) -> None:
    """A signed viewer link is handed out only with an answer from a collection the key may
    read, and its token opens that document there only: not under another collection's name,
    not another document. Before, the plain ask key's briefing of ``private`` returned links
    that opened the private memo whole."""
    api, assistant = world
    (memo,) = assistant.documents("private")
    refused = api.post("/api/v1/brief", json={"collection": "private"}, headers=bearer(PLAIN))
    assert refused.status_code == 404 and "/view/" not in refused.text

    answer = api.post(
        "/api/v1/ask",
        json={"question": "Who founded Kestrel?", "collection": "widget"},
        headers=bearer(WIDGET),
    )
    cite = answer.json()["citations"][0]
    assert cite["view"].startswith("/view/widget/") and "&t=" in cite["view"]
    assert api.get(cite["view"]).status_code == 200
    token = cite["view"].split("&t=")[1].split("#")[0]
    for where in (
        f"private/{memo.doc_id}",
        f"private/{cite['doc_id']}",
        f"default/{cite['doc_id']}",
    ):
        page = api.get(f"/view/{where}?t={token}")
        assert page.status_code == 403 and "Quillmoor" not in page.text

    admin = api.post("/api/v1/brief", json={"collection": "private"}, headers=bearer(ADMIN))
    assert admin.status_code == 200
    link = admin.json()["citations"][0]["view"]
    assert link.startswith(f"/view/private/{memo.doc_id}?")
    assert "Quillmoor" in api.get(link).text


# --- item 7: reads create nothing ------------------------------------------------------------


def test_reads_never_create_a_collection(world: tuple[httpx.Client, Assistant]) -> None:
    """Asking, streaming, briefing, listing or chatting with a collection that does not exist
    is a 404 for every key, the admin's too, and the name shows in no listing afterwards; the
    core's own reads (``Assistant.ask``, ``search``, ``brief``) create nothing either. Before,
    asking ``junk-0000`` created it and every listing showed it from then on."""
    api, assistant = world
    junk = [f"junk-{n:04d}" for n in range(3)]
    for key in (ADMIN, PLAIN, WIDGET):
        for name in junk:
            assert_not_found(ask(api, key, name), name)
            assert_not_found(ask(api, key, name, "/api/v1/ask/stream"), name)
            brief = api.post("/api/v1/brief", json={"collection": name}, headers=bearer(key))
            assert_not_found(brief, name)
            assert_not_found(chat(api, key, name), name)
    for name in junk:
        listing = api.get("/api/v1/documents", params={"collection": name}, headers=bearer(ADMIN))
        assert_not_found(listing, name)

    core = "junk-core"
    assistant.ask("Who founded Kestrel?", collection=core)
    list(assistant.stream("Who founded Kestrel?", collection=core))
    assistant.search("Kestrel", collection=core)
    assistant.brief(core)
    assert assistant.documents(core) == []

    url = f"{str(api.base_url).rstrip('/')}/mcp"

    async def mcp_reads() -> None:
        async with mcp_client(url, ADMIN) as client:
            for tool, args in (
                ("ask", {"question": "Who?"}),
                ("search", {"query": "Who?"}),
                ("brief", {}),
                ("list_documents", {}),
            ):
                result = await client.call_tool(tool, {**args, "collection": "junk-mcp"})
                assert tool_error(result)["code"] == "not_found"

    run(mcp_reads)

    listed = api.get("/api/v1/collections", headers=bearer(ADMIN)).json()["collections"]
    models = [m["id"] for m in api.get("/v1/models", headers=bearer(ADMIN)).json()["data"]]
    for names in (listed, models, assistant.collections()):
        assert not [n for n in names if n.startswith("junk")], names
        assert {"default", "faq", "private", "widget"} <= set(names)


def test_only_an_admin_creates_a_collection_and_sees_every_one(
    world: tuple[httpx.Client, Assistant], tmp_path: Path
) -> None:
    """An admin key adds documents to a new collection (the one way a collection is made) and
    sees it at once; ask keys may not add documents, and do not see it."""
    api, _ = world
    note = tmp_path / "note.txt"
    note.write_text("Ferry notice\n\nThe night ferry to Ostrava leaves at 23:40 from pier 4.\n")
    for key in (PLAIN, WIDGET):
        with note.open("rb") as f:
            r = api.post(
                "/api/v1/documents",
                files=[("files", ("note.txt", f))],
                data={"collection": "widget"},
                headers=bearer(key),
            )
        assert r.status_code in (401, 403), r.text
    with note.open("rb") as f:
        r = api.post(
            "/api/v1/documents",
            files=[("files", ("note.txt", f))],
            data={"collection": "ferries"},
            headers=bearer(ADMIN),
        )
    assert r.status_code == 200, r.text
    try:
        admin_models = [
            m["id"] for m in api.get("/v1/models", headers=bearer(ADMIN)).json()["data"]
        ]
        assert "ferries" in admin_models
        for key in (PLAIN, WIDGET):
            models = [m["id"] for m in api.get("/v1/models", headers=bearer(key)).json()["data"]]
            assert "ferries" not in models
            assert_not_found(ask(api, key, "ferries"), "ferries")
        assert ask(api, ADMIN, "ferries").status_code == 200
    finally:
        doc_id = r.json()["results"][0]["doc_id"]
        api.delete(
            f"/api/v1/documents/{doc_id}", params={"collection": "ferries"}, headers=bearer(ADMIN)
        )
