"""One policy in front of every route, the chat's (Gradio) included (issue 24, items 2 to 4),
tried as a browser and an attacker would against a real server on 127.0.0.1.

- **Origins.** A page of a site not listed in ``BRIEF_WIDGET_ORIGINS`` gets no credentialed
  answer from any route: Gradio's ``/gradio_api/...``, ``/login``, ``/config``, the upload and
  queue routes are refused (403 ``origin_not_allowed``) like the API's. The chat's sign-in
  cookies are ``SameSite=Strict``.
- **Host.** Without keys, every route answers only to loopback names (and those of
  ``BRIEF_ALLOWED_HOSTS``): a page that rebinds its name to 127.0.0.1 gets 421
  ``host_not_allowed``.
- **Uploads.** The chat ingests only files uploaded through it: a server path sent as a file is
  refused, and nothing is read or copied.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, served

ADMIN = "admin-key-route-policy-0123456789"
ASK = "ask-key-route-policy-0123456789ab"
#: The server's public name behind a reverse proxy, and the site allowed to embed the widget.
PUBLIC = "briefing.example.org"
WIDGET_SITE = "https://www.example.org"
#: A site nobody listed; the page an admin happens to open.
EVIL = "https://evil.example"


def json_error(r: httpx.Response, status: int) -> dict[str, str]:
    """The ``{"error": {"code", "message"}}`` of ``r``, which has ``status`` (else the test
    fails)."""
    assert r.status_code == status, (
        r.request.method,
        r.request.url.path,
        r.status_code,
        r.text[:300],
    )
    assert r.headers.get("content-type", "").startswith("application/json"), r.text[:300]
    error = r.json()["error"]
    assert error["code"] and error["message"], error
    return error


def gradio_call(client: httpx.Client, name: str, data: list[Any], **kwargs: Any) -> tuple[str, str]:
    """Call the chat's ``/gradio_api/call/<name>`` as Gradio's client does; the event stream's
    last event and its data."""
    started = client.post(f"/gradio_api/call/{name}", json={"data": data}, **kwargs)
    assert started.status_code == 200, started.text[:300]
    event_id = started.json()["event_id"]
    with client.stream("GET", f"/gradio_api/call/{name}/{event_id}", timeout=120, **kwargs) as r:
        text = "".join(r.iter_text())
    event, payload = "", ""
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            payload = line.partition(":")[2].strip()
    return event, payload


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The app (chat and API) with keys, reached as a reverse proxy passes it on: every
    request carries ``Host: briefing.example.org``. The widget's site is listed."""
    from assistant.faces.web.page import make_app

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("proxied") / "data",
        api_keys=f"{ADMIN}:admin,{ASK}:ask",
        widget_origins=WIDGET_SITE,
        rate_limit_per_minute=0,
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    app, _ = make_app(assistant, samples=False)
    with served(assistant, app) as client:
        client.headers["Host"] = PUBLIC
        yield client


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Assistant]]:
    """The app (chat and API) without keys, as ``brief serve`` runs by default, over the test
    article."""
    from assistant.faces.web.page import make_app

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("keyless") / "data", rate_limit_per_minute=0
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    app, _ = make_app(assistant, samples=False)
    with served(assistant, app) as client:
        yield client, assistant


# --- item 2: no credentialed call from a site not listed, on any route --------------------


def test_the_chat_refuses_credentialed_calls_from_other_sites(proxied: httpx.Client) -> None:
    """Issue 24, item 2: behind a proxy, Gradio answered any ``Origin`` with
    ``Access-Control-Allow-Credentials: true`` and set its sign-in cookie ``SameSite=None``, so
    a page an admin opened could call the chat with the admin's cookie and read the replies.
    Now every route refuses a page of a site not listed, before it runs, and grants no
    credentials; the sign-in cookies are ``SameSite=Strict``; the chat's own page still works."""
    client = proxied
    own = {"Origin": f"https://{PUBLIC}"}

    # The admin signs in from the chat's own page: cookies that no other site's request carries.
    signed_in = client.post("/login", data={"username": "me", "password": ADMIN}, headers=own)
    assert signed_in.status_code == 200, signed_in.text
    cookies = signed_in.headers.get_list("set-cookie")
    assert cookies, signed_in.headers
    for cookie in cookies:
        attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "samesite=strict" in attributes, cookie
    # The chat answers its own page, cookie and all.
    assert client.get("/config", headers=own).status_code == 200
    event, _ = gradio_call(client, "ask", ["Who founded Kestrel?", "default"], headers=own)
    assert event == "complete"

    # A page of another site, in the signed-in admin's browser (the cookie goes along).
    evil = {"Origin": EVIL}
    asked = {"json": {"data": ["Who founded Kestrel?", "default"]}}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/gradio_api/call/ask", asked),
        ("POST", "/gradio_api/call/add_documents", {"json": {"data": [None, "", "default"]}}),
        ("POST", "/gradio_api/call/remove_document", {"json": {"data": ["x", "default"]}}),
        ("POST", "/gradio_api/queue/join", {"json": {"data": [], "fn_index": 0}}),
        ("GET", "/gradio_api/queue/data?session_hash=abc", {}),
        ("POST", "/gradio_api/upload", {"files": [("files", ("a.txt", b"hello", "text/plain"))]}),
        ("GET", "/config", {}),
        ("GET", "/gradio_api/info", {}),
        ("POST", "/login", {"data": {"username": "me", "password": ADMIN}}),
        ("GET", "/", {}),
        ("GET", "/api/v1/documents", {"headers": {"Authorization": f"Bearer {ADMIN}"}}),
    ]
    for method, path, kwargs in calls:
        headers = {**evil, **kwargs.pop("headers", {})}
        r = client.request(method, path, headers=headers, **kwargs)
        assert json_error(r, 403)["code"] == "origin_not_allowed", path
        assert "access-control-allow-credentials" not in r.headers, (path, r.headers)

        # Nor does a preflight let the browser send it with credentials.
        preflight = client.options(
            path.split("?")[0],
            headers={
                **evil,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.headers.get("access-control-allow-credentials") != "true", path
        if path.startswith("/gradio_api") or path in ("/config", "/login", "/"):
            assert "access-control-allow-origin" not in preflight.headers, path

    # An opaque origin (a sandboxed frame, a data: page) is no better.
    r = client.post("/gradio_api/call/ask", headers={"Origin": "null"}, **asked)
    assert json_error(r, 403)["code"] == "origin_not_allowed"

    # The listed site may call the API (without cookies), and nothing of the chat.
    site = {"Origin": WIDGET_SITE}
    r = client.post(
        "/api/v1/ask",
        json={"question": "Who founded Kestrel?"},
        headers={**site, "Authorization": f"Bearer {ASK}"},
    )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["access-control-allow-origin"] == WIDGET_SITE
    assert "access-control-allow-credentials" not in r.headers
    r = client.post("/gradio_api/call/ask", headers=site, **asked)
    assert json_error(r, 403)["code"] == "origin_not_allowed"
    assert "access-control-allow-credentials" not in r.headers


# --- item 4: Host is checked on every route without keys ---------------------------------


def test_a_rebound_name_reaches_no_route_of_a_keyless_server(
    keyless: tuple[httpx.Client, Assistant],
) -> None:
    """Issue 24, item 4: without keys only ``/mcp`` checked ``Host``; a page whose name was
    rebound to 127.0.0.1 (``Host`` and ``Origin`` attacker.example:PORT, so "same origin") could
    upload, list, view and delete. Now every route answers such a request with 421
    ``host_not_allowed`` before it runs, and answers loopback names as before."""
    client, assistant = keyless
    port = client.base_url.port
    [doc] = assistant.documents()
    rebound = f"attacker.example:{port}"
    attacker = {"Host": rebound, "Origin": f"http://{rebound}"}
    upload = {"files": [("files", ("planted.txt", b"Planted by a web page.", "text/plain"))]}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/documents", upload),
        ("GET", "/api/v1/documents", {}),
        ("GET", f"/view/default/{doc.doc_id}", {}),
        ("DELETE", f"/api/v1/documents/{doc.doc_id}", {}),
        ("POST", "/api/v1/ask", {"json": {"question": "Who founded Kestrel?"}}),
        ("GET", "/v1/models", {}),
        ("GET", "/", {}),
        ("GET", "/config", {}),
        ("GET", "/gradio_api/info", {}),
        ("POST", "/gradio_api/call/ask", {"json": {"data": ["Who founded Kestrel?", "default"]}}),
        ("POST", "/gradio_api/upload", upload),
        ("GET", "/healthz", {}),
        ("GET", "/widget.js", {}),
        ("GET", "/docs", {}),
    ]
    for method, path, kwargs in calls:
        for headers in (attacker, {"Host": rebound}):  # with the page's Origin, and without
            r = client.request(method, path, headers=headers, **kwargs)
            assert json_error(r, 421)["code"] == "host_not_allowed", path
    assert [d.doc_id for d in assistant.documents()] == [doc.doc_id]  # nothing added or removed

    # Loopback names, with any port (and none), reach every route as before.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost:1"):
        r = client.get("/api/v1/documents", headers={"Host": host})
        assert r.status_code == 200, (host, r.text[:300])
        assert client.get("/config", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_adds_names_and_with_keys_is_checked_too(tmp_path: Path) -> None:
    """``BRIEF_ALLOWED_HOSTS`` names more hosts the server answers to. Without keys the check
    always runs; with keys it runs once names are given (without them, the key guards)."""
    from assistant.faces.web.page import make_app

    for keys in (None, f"{ADMIN}:admin"):
        settings = Settings(
            data_dir=tmp_path / f"data-{bool(keys)}",
            api_keys=keys,
            allowed_hosts="briefing.lan,10.0.0.7:8443",
            rate_limit_per_minute=0,
        )
        assistant = Assistant(settings)
        app, _ = make_app(assistant, samples=False)
        auth = {"Authorization": f"Bearer {ADMIN}"} if keys else {}
        with served(assistant, app) as client:
            for host in ("briefing.lan", "briefing.lan:7860", "10.0.0.7:8443", "127.0.0.1:9"):
                r = client.get("/api/v1/documents", headers={"Host": host, **auth})
                assert r.status_code == 200, (keys, host, r.text[:300])
            for host in ("attacker.example", "10.0.0.7:80", "briefing.lan.attacker.example"):
                r = client.get("/api/v1/documents", headers={"Host": host, **auth})
                assert json_error(r, 421)["code"] == "host_not_allowed", (keys, host)
                r = client.get("/config", headers={"Host": host})
                assert json_error(r, 421)["code"] == "host_not_allowed", (keys, host)
            # The names' pages are the server's own, even through a proxy that passes on
            # another Host; other sites' are not.
            behind = {"Host": f"127.0.0.1:{client.base_url.port}", **auth}
            for origin, status in (("https://briefing.lan", 200), ("https://evil.example", 403)):
                r = client.get("/api/v1/documents", headers={**behind, "Origin": origin})
                assert r.status_code == status, (keys, origin, r.text[:300])
                if not keys:
                    r = client.get("/config", headers={**behind, "Origin": origin})
                    assert r.status_code == status, (origin, r.text[:300])

    # With keys and no names, any Host is answered: a rebound page has no key, and the
    # browser sends no cookie of the real name to the attacker's.
    settings = Settings(data_dir=tmp_path / "data-open", api_keys=f"{ADMIN}:admin")
    with served(Assistant(settings)) as client:
        r = client.get(
            "/api/v1/documents",
            headers={"Host": "anything.example", "Authorization": f"Bearer {ADMIN}"},
        )
        assert r.status_code == 200, r.text[:300]


# --- item 3: the chat ingests only what was uploaded through it ---------------------------


def test_the_chat_ingests_only_files_uploaded_through_it(
    keyless: tuple[httpx.Client, Assistant], tmp_path: Path
) -> None:
    """Issue 24, item 3: a path on the server sent to ``add_documents`` as a file
    (``{"path": ..., "meta": {"_type": "gradio.FileData"}}``) was ingested: Gradio's "was this
    uploaded?" check is skipped for a mounted app, and the chat trusted the path. Now it is
    refused with a message that says why, nothing is ingested, and nothing is copied into
    Gradio's cache; a file uploaded through the chat is still added."""
    from gradio.utils import get_upload_folder

    client, assistant = keyless
    secret = f"operator-notes-{uuid.uuid4().hex[:8]}.md"
    notes = tmp_path / secret
    notes.write_text("# Operator notes\n\nThe vault code of the Fennick depot is 4417-2209.\n")
    before = {d.doc_id for d in assistant.documents()}

    def add(path: str) -> tuple[str, str]:
        given = {"path": path, "meta": {"_type": "gradio.FileData"}}
        return gradio_call(client, "add_documents", [[given], "", "default"])

    event, data = add(str(notes))
    assert event in ("error", "complete"), (event, data)
    assert "uploaded" in data, data  # the reason is told
    assert {d.doc_id for d in assistant.documents()} == before
    assert not list(Path(get_upload_folder()).glob(f"*/{secret}")), "the file was copied"

    # A file placed in Gradio's upload folder by something else than an upload: refused too.
    planted = Path(get_upload_folder()) / uuid.uuid4().hex / "planted-notes.md"
    planted.parent.mkdir(parents=True)
    planted.write_text("# Planted\n\nThe Fennick depot's alarm is off on Sundays.\n")
    try:
        event, data = add(str(planted))
        assert "uploaded" in data, (event, data)
        assert {d.doc_id for d in assistant.documents()} == before
    finally:
        planted.unlink()
        planted.parent.rmdir()

    # Uploaded through the chat (as the page does: /gradio_api/upload, then the event).
    text = b"# Ferry notes\n\nThe ferry to Inishmore leaves at 9:00 each day.\n"
    taken = client.post(
        "/gradio_api/upload", files=[("files", ("ferry.md", text, "text/markdown"))]
    )
    assert taken.status_code == 200, taken.text
    [path] = taken.json()
    event, data = add(path)
    assert event == "complete", (event, data)
    results = json.loads(data)[0]
    assert results["data"][0][:2] == ["ferry.md", "ingested"], results
    assert len(assistant.documents()) == len(before) + 1


# --- in a real browser: the admin signed in, a page of another site open -------------------


def test_in_a_browser_the_signed_in_chat_works_and_another_page_reads_nothing(
    tmp_path: Path, web_server: tuple[str, Path]
) -> None:
    """Chromium: the admin signs in to the chat (keys set) and adds a file through the page;
    the sign-in cookie is ``SameSite=Strict``. A page of another site (here another port of
    127.0.0.1: the same *site*, so even a Strict cookie goes along) calls the chat's routes
    with the admin's credentials and reads nothing. Before, Gradio let any loopback origin
    read them (``Access-Control-Allow-Credentials: true``)."""
    from playwright.sync_api import sync_playwright

    from assistant.faces.web.page import make_app
    from tests.browser import launch
    from tests.e2e.test_web import upload

    settings = Settings(
        data_dir=tmp_path / "data", api_keys=f"{ADMIN}:admin,{ASK}:ask", rate_limit_per_minute=0
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    app, chat = make_app(assistant, samples=False)
    chat.ready.set()
    memo = tmp_path / "ferry-memo.md"
    memo.write_text("# Ferry memo\n\nThe Harwick ferry will run every 40 minutes from 4 May.\n")
    other, _ = web_server
    with served(assistant, app) as client, sync_playwright() as p:
        url = str(client.base_url).rstrip("/")
        browser = launch(p)
        try:
            context = browser.new_context()
            signed_in = context.request.post(
                f"{url}/login", form={"username": "me", "password": ADMIN}
            )
            assert signed_in.ok, signed_in.text()
            assert {c["sameSite"] for c in context.cookies()} == {"Strict"}
            page = context.new_page()
            page.goto(url + "/")
            page.wait_for_selector("#ba-question textarea", timeout=30_000)
            upload(page, [memo])  # returns once the file's name shows (its progress, maybe)
            page.wait_for_function(
                "document.querySelector('#ba-results').innerText.includes('ingested')"
            )
            assert any(d.title == "Ferry memo" for d in assistant.documents())

            elsewhere = context.new_page()
            elsewhere.goto(other + "/")
            read = elsewhere.evaluate(
                """async (app) => {
                  const calls = {
                    config: [app + "/config", {}],
                    info: [app + "/gradio_api/info", {}],
                    ask: [app + "/gradio_api/call/ask", {method: "POST",
                      headers: {"Content-Type": "application/json"},
                      body: JSON.stringify({data: ["Who founded Kestrel?", "default"]})}],
                    login: [app + "/login", {method: "POST",
                      body: new URLSearchParams({username: "me", password: "x"})}],
                  };
                  const out = {};
                  for (const [name, [url, options]] of Object.entries(calls)) {
                    try {
                      const r = await fetch(url, {credentials: "include", ...options});
                      out[name] = r.status + " " + (await r.text()).slice(0, 80);
                    } catch (e) {
                      out[name] = "blocked";
                    }
                  }
                  return out;
                }""",
                url,
            )
            assert read == dict.fromkeys(read, "blocked") and len(read) == 4, read
        finally:
            browser.close()
