"""Bounded requests (issue 24), tried as an attacker would against a real server on 127.0.0.1.

- A body is refused before it is read: without a valid key (401) or over the size limit (413),
  whether it declares its length or streams without one.
- Every text field and list of a request body has its limit in the schema; a filter listing
  40,000 document ids is a JSON error, not the store's plain-text 500.
- A hostile chat message ("brief me on x!!!...y", 30,000 characters) does not hold the server.
- The rate limit counts the caller, not the spelling of its header: the matched key, or the
  address; failed authentications count against the address (the API's 401s and the chat's
  sign-in alike).
- Whatever goes wrong inside a route, the client gets the JSON error shape, never a plain-text
  500.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, free_port, served

ADMIN = "admin-key-0123456789abcdef"
ASK = "ask-key-0123456789abcdef"
MIB = 1_048_576
#: What an attacker declares: far more than any limit (the issue's 300 MiB).
HUGE = 300 * MIB


# --- helpers ---------------------------------------------------------------------------------


def raw_request(
    port: int, head: str, body: Iterable[bytes] = (), timeout: float = 20
) -> tuple[int, dict[str, str], bytes]:
    """Send a request as written: its head, then as much of ``body`` as the server takes, and
    return the response's status, headers and body.

    A server that waits for the rest of the body before it answers fails the test: nothing
    more is sent, so it answers nothing within ``timeout``.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n")
        for chunk in body:
            try:
                s.sendall(chunk)
            except OSError:  # the server answered and stopped reading: read its answer
                break
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                got = s.recv(65536)
                if not got:
                    break
                data += got
            top, _, rest = data.partition(b"\r\n\r\n")
            lines = top.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(rest) < length:
                got = s.recv(65536)
                if not got:
                    break
                rest += got
        except TimeoutError:
            pytest.fail(f"no answer within {timeout:g} s: the server waits for the whole body")
        except ConnectionResetError:
            pytest.fail(f"the connection was reset without an answer (got {data[:200]!r})")
    assert lines[0].startswith("HTTP/1.1 "), data[:200]
    return int(lines[0].split()[1]), headers, rest


def json_error(status: int, headers: dict[str, str], body: bytes) -> dict[str, str]:
    """The ``{"error": {"code", "message"}}`` of a raw response (the test fails if it is not)."""
    assert headers.get("content-type", "").startswith("application/json"), (status, body[:200])
    error = json.loads(body)["error"]
    assert error["code"] and error["message"], error
    return error


def assert_json_error(r: httpx.Response, status: int | None = None) -> dict[str, str]:
    assert r.headers.get("content-type", "").startswith("application/json"), (
        r.status_code,
        r.headers.get("content-type"),
        r.text[:300],
    )
    if status is not None:
        assert r.status_code == status, r.text[:300]
    error = r.json()["error"]
    assert error["code"] and error["message"], error
    return error


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, int]]:
    """The API with an admin and an ask key over the test article, no rate limit; files of at
    most 1 MiB, three per upload. Yields the client and the port."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("bounded") / "data",
        api_keys=f"{ADMIN}:admin,{ASK}:ask",
        rate_limit_per_minute=0,
        max_question_chars=500,
        max_file_mb=1,
        max_upload_files=3,
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    with served(assistant) as client:
        assert client.base_url.port is not None
        yield client, client.base_url.port


# --- 1. bounded before read ------------------------------------------------------------------


def test_a_huge_body_is_refused_before_it_is_read(keyed: tuple[httpx.Client, int]) -> None:
    """A request that declares 300 MiB gets its answer after the first megabyte has been sent:
    401 without a valid key, 413 with one (JSON, or a multipart upload beyond what its files
    may hold). Before, the server read the whole body first (13 s and 0.9 GB for 300 MiB)."""
    _, port = keyed
    first = [b"{" + b" " * (MIB - 1)]  # what is sent of the 300 MiB; the rest never comes

    def ask(key: str | None, kind: str = "application/json", path: str = "/api/v1/ask") -> Any:
        auth = f"Authorization: Bearer {key}\n" if key else ""
        head = (
            f"POST {path} HTTP/1.1\nHost: 127.0.0.1:{port}\n{auth}"
            f"Content-Type: {kind}\nContent-Length: {HUGE}\n"
        )
        return raw_request(port, head, first)

    status, headers, body = ask(None)
    assert status == 401 and json_error(status, headers, body)["code"] == "unauthorized"
    status, headers, body = ask("not-a-key-at-all-but-long-enough")
    assert status == 401 and json_error(status, headers, body)["code"] == "unauthorized"

    status, headers, body = ask(ASK)
    assert status == 413 and json_error(status, headers, body)["code"] == "request_too_large"
    upload = "multipart/form-data; boundary=x"
    status, headers, body = ask(ADMIN, upload, "/api/v1/documents")
    assert status == 413 and json_error(status, headers, body)["code"] == "request_too_large"
    # An ask key may not upload: its multipart body is held to the JSON limit.
    status, headers, body = ask(ASK, upload, "/api/v1/documents")
    assert status == 413 and json_error(status, headers, body)["code"] == "request_too_large"


def test_a_body_without_a_length_is_counted_as_it_arrives(
    keyed: tuple[httpx.Client, int],
) -> None:
    """Chunked, with no Content-Length: refused once the bytes received pass the limit (2 MiB
    by default), while the rest is still to come."""
    client, port = keyed
    head = (
        f"POST /api/v1/ask HTTP/1.1\nHost: 127.0.0.1:{port}\nAuthorization: Bearer {ASK}\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\n"
    )
    piece = b"x" * 65536
    chunks = [b'{"question": "'] + [piece] * 40  # 2.5 MiB of a question that never ends
    framed = [f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks]
    status, headers, body = raw_request(port, head, framed)
    assert status == 413 and json_error(status, headers, body)["code"] == "request_too_large"
    # The server goes on answering.
    assert client.get("/api/v1/health", headers=bearer(ASK)).status_code == 200


def test_every_text_field_and_list_has_its_limit_in_the_schema(
    keyed: tuple[httpx.Client, int],
) -> None:
    """The published schema bounds every text field and list of a request with the server's
    settings, and each bound is enforced with a JSON error that says which."""
    client, _ = keyed
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    ask = schemas["AskRequest"]["properties"]
    assert ask["question"]["maxLength"] == 500  # the server's BRIEF_MAX_QUESTION_CHARS
    assert ask["history"]["maxItems"] == 40  # BRIEF_MAX_HISTORY_MESSAGES
    assert schemas["Message"]["properties"]["content"]["maxLength"] > 0
    assert schemas["BriefRequest"]["properties"]["focus"]["anyOf"][0]["maxLength"] == 500
    chat = schemas["ChatRequest"]["properties"]
    assert chat["messages"]["maxItems"] > 0 and chat["model"]["maxLength"] > 0

    def bounded(value: dict[str, Any]) -> bool:
        """Every string and array in a field's schema has a maximum."""
        if value.get("type") == "string" and "maxLength" not in value:
            return "enum" in value or "const" in value or "format" in value
        if value.get("type") == "array" and "maxItems" not in value:
            return False
        inner = [*value.get("anyOf", []), *([value["items"]] if "items" in value else [])]
        return all(bounded(v) for v in inner)

    for name in ("AskRequest", "Message", "Filters", "BriefRequest", "ChatRequest"):
        for field, value in schemas[name]["properties"].items():
            assert bounded(value), (name, field, value)

    ask_key = bearer(ASK)
    # A past turn of the OpenAI-compatible face: no bound before (a 600,000-character one was
    # read, embedded and answered).
    long_turn = {"role": "assistant", "content": "Priya Raman founded Kestrel. " * 20_000}
    chat_body = {
        "model": "default",
        "messages": [long_turn, {"role": "user", "content": "Who founded Kestrel?"}],
    }
    r = client.post("/v1/chat/completions", json=chat_body, headers=ask_key)
    assert assert_json_error(r, 413)["code"] == "history_too_long"
    # The same conversation through /api/v1/ask: the same refusal.
    body = {"question": "Who founded Kestrel?", "history": [long_turn]}
    r = client.post("/api/v1/ask", json=body, headers=ask_key)
    assert assert_json_error(r, 413)["code"] == "history_too_long"
    # One document id of 100,000 characters.
    body = {"question": "Who founded Kestrel?", "filters": {"doc_id": "0" * 100_000}}
    r = client.post("/api/v1/ask", json=body, headers=ask_key)
    assert assert_json_error(r, 413)["code"] == "filters_too_long"
    # A lone surrogate in a filter: refused by the schema (before, the store's plain-text 500).
    raw = json.dumps({"question": "Who founded Kestrel?", "filters": {"doc_id": "\ud800"}})
    r = client.post(
        "/api/v1/ask",
        content=raw.encode(),
        headers={**ask_key, "content-type": "application/json"},
    )
    assert assert_json_error(r, 422)["code"] == "invalid_request"
    # A focus and a collection name far over their limits.
    r = client.post("/api/v1/brief", json={"focus": "export " * 100_000}, headers=ask_key)
    assert assert_json_error(r, 422)["code"] == "focus_too_long"
    r = client.post(
        "/api/v1/ask", json={"question": "Who?", "collection": "c" * 100_000}, headers=ask_key
    )
    assert assert_json_error(r, 422)["code"] == "invalid_collection"


def test_an_overlong_document_id_list_is_a_json_error(keyed: tuple[httpx.Client, int]) -> None:
    """Issue 24, item 8: 40,000 document ids in ``filters.doc_id`` (or sources in
    ``filters.source``) are refused by the schema with a JSON error; before, Chroma failed
    over 32,766 and the client got a plain-text 500, after seconds of work."""
    client, _ = keyed
    ids = [f"{n:016x}" for n in range(40_000)]
    for field in ("doc_id", "source"):
        body = {"question": "Who founded Kestrel?", "filters": {field: ids}}
        for path in ("/api/v1/ask", "/api/v1/ask/stream"):
            r = client.post(path, json=body, headers=bearer(ASK))
            error = assert_json_error(r, 413)
            assert error["code"] == "filters_too_long" and field in error["message"]
    # A short list is not refused for its length.
    body = {"question": "Who founded Kestrel?", "filters": {"doc_id": ids[:3]}}
    r = client.post("/api/v1/ask", json=body, headers=bearer(ASK))
    assert r.status_code != 413 and not r.text.startswith("Internal"), r.text[:300]


# --- 2. regexes on user text -----------------------------------------------------------------


def test_a_hostile_chat_message_does_not_hold_the_server(tmp_path: Path) -> None:
    """Issue 24, item 9: "brief me on x!!!...y" of 30,000 characters, sent to the chat as a
    browser would, held the whole server for 11 s (a quadratic pattern, run before the
    length check). Now the server keeps answering while such messages are handled, and each
    gets its reply. The chat's own rendering of past turns (``render.plain_text``) meets the
    same shapes without stalling either."""
    from assistant.faces.web.page import make_app

    assistant = Assistant(Settings(data_dir=tmp_path / "data", rate_limit_per_minute=0))
    app, chat = make_app(assistant, samples=False)
    hostile = [
        "brief me on x" + "!" * 30_000 + "y",
        "Brief me on " + ". " * 15_000 + "z",
        "brief me on “" + "?" * 30_000 + "”x",
    ]
    with served(assistant, app) as client:
        replies: list[str] = []

        def send(message: str) -> None:
            call = client.post("/gradio_api/call/ask", json={"data": [message, "default"]})
            event = call.json()["event_id"]
            with client.stream("GET", f"/gradio_api/call/ask/{event}", timeout=300) as r:
                replies.append("".join(r.iter_text()))

        def render_history() -> None:
            # Past turns as the chat reads them back: answers' markup, unclosed.
            history = [
                {"role": "user", "content": "brief me on x" + "!" * 30_000 + "y"},
                {"role": "assistant", "content": '<div class="ba-short">' * 1_500},
                {"role": "assistant", "content": "[\\[1\\]](" * 4_000},
                {"role": "assistant", "content": "<" * 30_000},
            ]
            for _ in chat.respond("", history, "default"):
                pass

        workers = [threading.Thread(target=send, args=(m,)) for m in hostile]
        workers.append(threading.Thread(target=render_history))
        for w in workers:
            w.start()
        answered = 0
        while any(w.is_alive() for w in workers):
            try:
                r = client.get("/api/v1/health", timeout=5)
            except httpx.TimeoutException:
                pytest.fail("the server stopped answering while it handled a chat message")
            assert r.status_code == 200
            answered += 1
        for w in workers:
            w.join()
        assert answered >= 1
        assert len(replies) == len(hostile)
        for reply in replies:
            assert "event: complete" in reply, reply[-500:]
            assert "longer than" in reply  # the focus is refused as too long, with its reason


# --- 3. rate limits by identity --------------------------------------------------------------

#: 32 ways to write one key that the key check accepts: the scheme in any case, one or two
#: spaces before the key.
SPELLINGS = [
    "".join(c.upper() if n >> i & 1 else c for i, c in enumerate("bearer")) + gap + ASK
    for n in range(16)
    for gap in (" ", "  ")
]


def test_every_spelling_of_a_key_shares_its_bucket(tmp_path: Path) -> None:
    """Issue 24, item 6: 32 spellings of one key each got a fresh allowance; now they all
    draw on the key's one, and another key keeps its own."""
    assert len(set(SPELLINGS)) == 32
    settings = Settings(
        data_dir=tmp_path / "data", api_keys=f"{ADMIN}:admin,{ASK}:ask", rate_limit_per_minute=6
    )
    with served(Assistant(settings)) as client:
        codes = [
            client.get("/api/v1/health", headers={"Authorization": s}).status_code
            for s in SPELLINGS
        ]
        assert codes[:6] == [200] * 6 and set(codes[6:]) == {429}, codes
        limited = client.get("/api/v1/health", headers=bearer(ASK))
        assert_json_error(limited, 429)
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.get("/api/v1/health", headers=bearer(ADMIN)).status_code == 200


def test_failed_authentications_are_counted_per_address(tmp_path: Path) -> None:
    """Wrong keys cost the address that sends them: past the rate, 429 instead of another
    try. A valid key still has its own allowance."""
    settings = Settings(
        data_dir=tmp_path / "data", api_keys=f"{ADMIN}:admin,{ASK}:ask", rate_limit_per_minute=6
    )
    with served(Assistant(settings)) as client:
        codes = [
            client.post(
                "/api/v1/ask",
                json={"question": "Who?"},
                headers=bearer(f"guess-{n:04d}-0123456789abcdef"),
            ).status_code
            for n in range(12)
        ]
        assert codes[:6] == [401] * 6 and set(codes[6:]) == {429}, codes
        assert client.get("/api/v1/health").status_code == 429  # no key at all: the same
        assert client.get("/api/v1/health", headers=bearer(ASK)).status_code == 200


def test_failed_sign_ins_to_the_chat_are_counted_per_address(tmp_path: Path) -> None:
    """The chat's sign-in (``/login``, an admin key as the password) is throttled the same
    way: each address may try ``BRIEF_RATE_LIMIT_PER_MINUTE`` times a minute."""
    from assistant.faces.web.page import make_app

    settings = Settings(
        data_dir=tmp_path / "data", api_keys=f"{ADMIN}:admin,{ASK}:ask", rate_limit_per_minute=6
    )
    assistant = Assistant(settings)
    app, _ = make_app(assistant, samples=False)
    with served(assistant, app) as client:
        codes = [
            client.post(
                "/login", data={"username": "me", "password": f"guess-{n:04d}-0123456789abcdef"}
            ).status_code
            for n in range(12)
        ]
        assert set(codes[:6]) == {400} and set(codes[6:]) == {429}, codes
        refused = client.post("/login", data={"username": "me", "password": ADMIN})
        assert_json_error(refused, 429)
        assert int(refused.headers["Retry-After"]) >= 1


def test_without_keys_made_up_headers_share_the_address_bucket(tmp_path: Path) -> None:
    """With no keys, any made-up Authorization header got a fresh allowance; now the address
    is the caller."""
    settings = Settings(data_dir=tmp_path / "data", rate_limit_per_minute=6)
    with served(Assistant(settings)) as client:
        codes = [
            client.get("/api/v1/health", headers=bearer(f"made-up-{n}")).status_code
            for n in range(12)
        ]
        assert codes[:6] == [200] * 6 and set(codes[6:]) == {429}, codes


# --- 4. an unexpected exception is a JSON error ----------------------------------------------


def test_an_unexpected_exception_on_any_route_is_a_json_error(tmp_path: Path) -> None:
    """The store's server goes away (here: never there): every route that needs it fails,
    and each says so as ``{"error": {"code", "message"}}`` with status 500, no trace of the
    exception beyond its kind, on a connection that stays usable. Before, a plain-text
    "Internal Server Error" and a closed connection."""
    nowhere = free_port()  # nothing listens there
    settings = Settings(data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=nowhere)
    routes: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/health", {}),
        ("GET", "/api/v1/collections", {}),
        ("POST", "/api/v1/ask", {"json": {"question": "Who founded Kestrel?"}}),
        ("GET", "/v1/models", {}),
        ("POST", "/v1/chat/completions", {"json": {"model": "x", "messages": [
            {"role": "user", "content": "Who founded Kestrel?"}]}}),
        ("POST", "/api/v1/documents", {"files": [("files", ("memo.txt", b"A memo. Short."))]}),
    ]  # fmt: skip
    with served(Assistant(settings)) as client:
        for method, path, kwargs in routes:
            r = client.request(method, path, **kwargs)
            error = assert_json_error(r, 500)
            assert "Traceback" not in r.text and "127.0.0.1" not in error["message"], r.text
        # The same connection goes on serving (before, it was closed after each crash).
        assert client.get("/healthz").json() == {"ok": True}
