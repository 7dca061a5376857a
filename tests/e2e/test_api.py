"""The HTTP API over a real server (uvicorn on 127.0.0.1) and a real store with the test article."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.answering.answer import CITATION_FIELDS
from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, ROOT, free_port, served, stop, wait_for


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data = tmp_path_factory.mktemp("api") / "data"
    # allow_private_urls: the test's web server is on loopback (tests/e2e/test_ssrf.py: refused
    # by default).
    assistant = Assistant(
        Settings(data_dir=data, max_question_chars=500, max_upload_files=3, allow_private_urls=True)
    )
    assert assistant.ingest([ARTICLE]).ok
    with served(assistant) as client:
        yield client


def events_of(body: str) -> list[tuple[str, dict]]:
    """Server-sent events as (event, data) pairs."""
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_returns_the_answer_fields(api: httpx.Client) -> None:
    r = api.post("/api/v1/ask", json={"question": "Who founded Kestrel?"})
    assert r.status_code == 200
    data = r.json()
    assert {"text", "abstained", "citations", "related", "timings"} <= set(data)
    assert "Priya Raman" in data["text"] and not data["abstained"]
    assert set(CITATION_FIELDS) <= set(data["citations"][0])
    quote = data["citations"][0]["quote"]
    assert "Priya Raman" in quote
    # The quote is the document's own words (spacing aside: cleaning splits run-ons).
    assert "".join(quote.split()) in "".join(ARTICLE.read_text().split())


def test_follow_up_with_history(api: httpx.Client) -> None:
    history = [
        {"role": "user", "content": "Who founded Kestrel?"},
        {"role": "assistant", "content": "Priya Raman founded it. [1]"},
    ]
    r = api.post("/api/v1/ask", json={"question": "What did she acknowledge?", "history": history})
    assert r.status_code == 200 and "acknowledged" in r.json()["text"]


def test_stream_sends_deltas_citations_and_done(api: httpx.Client) -> None:
    r = api.post("/api/v1/ask/stream", json={"question": "Which engines did Kestrel use?"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = events_of(r.text)
    kinds = [e for e, _ in events]
    assert kinds[0] == "delta" and kinds[-1] == "done" and "citation" in kinds
    done = events[-1][1]
    assert "".join(d["text"] for e, d in events if e == "delta") == done["text"]
    assert "M40" in done["text"]


def test_unanswerable_question_abstains(api: httpx.Client) -> None:
    data = api.post("/api/v1/ask", json={"question": "What is the capital of Peru?"}).json()
    assert data["abstained"] and data["citations"] == [] and data["related"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"question": "   "}, 422, "empty_question"),
        ({"question": "why " * 200}, 413, "question_too_long"),
        ({"question": "Who?", "collection": "../etc"}, 422, "invalid_collection"),
        ({"question": "Who?", "history": [{"role": "robot", "content": "x"}]}, 422, None),
        ({"question": "Who?", "history": [{"role": "user", "content": "x"}] * 41}, 413, None),
        ({"nothing": 1}, 422, "invalid_request"),
        ({"question": "Who?", "filters": {"date_from": "yesterday"}}, 422, None),
        ({"question": "Who?", "filters": {"colour": "red"}}, 422, "invalid_request"),
        ({"question": "Who?", "filters": {"source": {"a": 1}}}, 422, "invalid_request"),
    ],
)
def test_bad_requests_get_a_json_error(
    api: httpx.Client, body: dict, status: int, code: str | None
) -> None:
    r = api.post("/api/v1/ask", json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code


def test_not_json_is_422_not_500(api: httpx.Client) -> None:
    r = api.post(
        "/api/v1/ask", content=b"\xff\xfe not json", headers={"content-type": "application/json"}
    )
    assert r.status_code in (400, 422) and r.json()["error"]["message"]


def test_documents_upload_list_ask_and_delete(api: httpx.Client, tmp_path: Path) -> None:
    files = [
        ("files", ("ferry.md", b"# Ferry memo\n\nThe Harwick ferry will run every 40 minutes.\n")),
        ("files", ("empty.txt", b"")),
    ]
    r = api.post("/api/v1/documents", files=files, data={"collection": "uploads"})
    assert r.status_code == 207  # one failed: the results say which and why
    results = {x["source"]: x for x in r.json()["results"]}
    assert results["ferry.md"]["status"] == "ingested"
    assert results["empty.txt"]["status"] == "failed" and results["empty.txt"]["reason"]

    listed = api.get("/api/v1/documents", params={"collection": "uploads"}).json()["documents"]
    assert [d["title"] for d in listed] == ["Ferry memo"]
    assert api.get("/api/v1/collections").json()["collections"]["uploads"] == 1

    answer = api.post(
        "/api/v1/ask", json={"question": "How often will the ferry run?", "collection": "uploads"}
    ).json()
    assert "every 40 minutes" in answer["text"]

    doc_id = listed[0]["doc_id"]
    assert api.delete(f"/api/v1/documents/{doc_id}", params={"collection": "uploads"}).is_success
    assert api.get("/api/v1/documents", params={"collection": "uploads"}).json()["documents"] == []
    gone = api.delete(f"/api/v1/documents/{doc_id}", params={"collection": "uploads"})
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_uploads_under_one_name_at_once_each_ingest_their_own_bytes(
    api: httpx.Client,
) -> None:
    """Eight uploads of "notice.txt" with different texts, sent together: each is ingested
    as a new version (none reads another's bytes), and the one kept is one of them, whole."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [
        f"Notice {k}\n\nThe ferry to Calder Island leaves at {k + 6} o'clock from pier {k}.\n"
        for k in range(8)
    ]

    def upload(text: str) -> dict:
        files = {"files": ("notice.txt", text.encode(), "text/plain")}
        data = {"collection": "notices"}
        return api.post("/api/v1/documents", files=files, data=data).json()["results"][0]

    with ThreadPoolExecutor(len(texts)) as pool:
        results = list(pool.map(upload, texts))
    assert [r["status"] for r in results] == ["ingested"] * len(texts), results
    assert len({r["title"] for r in results}) == len(texts)  # each saw its own text
    docs = api.get("/api/v1/documents", params={"collection": "notices"}).json()["documents"]
    assert len(docs) == 1 and docs[0]["title"] in {f"Notice {k}" for k in range(8)}


def test_a_failed_upload_leaves_the_stored_version_and_its_file(tmp_path: Path) -> None:
    """Uploading a bad file under the name of a good one fails and changes nothing: the good
    document is still listed and answered from, and its file in the uploads folder is still
    the good one (a later ingest of the folder would otherwise meet the bad one). A failed
    upload under a new name, and an unsupported one, leave no file behind."""
    data = tmp_path / "data"
    good = b"Harbour memo\n\nThe night ferry to Orrin Point leaves at 23:40 from pier 6.\n"
    with served(Assistant(Settings(data_dir=data))) as client:

        def upload(name: str, body: bytes) -> dict:
            files = {"files": (name, body, "application/octet-stream")}
            r = client.post("/api/v1/documents", files=files, data={"collection": "harbour"})
            return r.json()["results"][0]

        assert upload("memo.pdf", b"%PDF-1.7 not really")["status"] == "failed"
        assert upload("memo.txt", good)["status"] == "ingested"
        assert upload("memo.txt", b"")["status"] == "failed"
        assert upload("tool.exe", b"MZ\x90\x00")["status"] in ("failed", "skipped")

        folder = data / "uploads" / "harbour"
        assert sorted(p.name for p in folder.iterdir()) == ["memo.txt"]
        assert (folder / "memo.txt").read_bytes() == good
        docs = client.get("/api/v1/documents", params={"collection": "harbour"}).json()
        assert [d["title"] for d in docs["documents"]] == ["Harbour memo"]
        answer = client.post(
            "/api/v1/ask",
            json={"question": "When does the night ferry leave?", "collection": "harbour"},
        ).json()
        assert "23:40" in answer["text"]

        # A good replacement still replaces, and leaves nothing aside.
        newer = good.replace(b"23:40", b"23:55")
        assert upload("memo.txt", newer)["status"] == "ingested"
        assert sorted(p.name for p in folder.iterdir()) == ["memo.txt"]
        assert (folder / "memo.txt").read_bytes() == newer


def test_upload_limits(api: httpx.Client) -> None:
    many = [("files", (f"n{i}.txt", b"Some words here.")) for i in range(4)]
    r = api.post("/api/v1/documents", files=many)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_files"
    r = api.post("/api/v1/documents", content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_add_a_web_page_by_url(api: httpx.Client, web_server: tuple[str, Path]) -> None:
    base, root = web_server
    (root / "page.html").write_text(
        "<html><head><title>Tram extension</title></head><body><article><h1>Tram extension</h1>"
        "<p>The tram extension to Northfield will open in September 2027, the city said.</p>"
        "</article></body></html>"
    )
    r = api.post("/api/v1/documents", json={"url": f"{base}/page.html", "collection": "web"})
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "ingested"
    bad = api.post("/api/v1/documents", json={"url": "file:///etc/passwd"})
    assert bad.status_code == 422


def test_health_and_docs(api: httpx.Client) -> None:
    health = api.get("/api/v1/health").json()
    assert health["ready"] is True and health["documents"] >= 1
    assert health["answerer"] == "offline" and "chromadb" in health["versions"]
    assert api.get("/docs").status_code == 404  # Swagger UI (from a CDN) only with BRIEF_API_DOCS
    assert "/api/v1/ask" in api.get("/openapi.json").json()["paths"]


ADMIN, WIDGET = "admin-key-0123456789abcdef", "widget-key-0123456789abcdef"


def test_keys_scopes_and_rate_limit(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys=f"{ADMIN}:admin,{WIDGET}:ask",
        rate_limit_per_minute=6,
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    question = {"question": "Where is Kestrel based?"}
    with served(assistant) as api:
        assert api.post("/api/v1/ask", json=question).status_code == 401
        bad = api.post("/api/v1/ask", json=question, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"

        widget = {"Authorization": f"Bearer {WIDGET}"}
        assert api.post("/api/v1/ask", json=question, headers=widget).status_code == 200
        assert api.get("/api/v1/health", headers=widget).status_code == 200
        assert api.get("/api/v1/documents", headers=widget).status_code == 403
        assert api.delete("/api/v1/documents/x", headers=widget).status_code == 403

        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert api.get("/api/v1/documents", headers=admin).status_code == 200

        # The widget key has used 2 of its 6 a minute (refused requests cost nothing).
        codes = [api.get("/api/v1/health", headers=widget).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 200, 429]
        limited = api.get("/api/v1/health", headers=widget)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        # Another key has its own allowance.
        assert api.get("/api/v1/health", headers=admin).status_code == 200


def test_with_keys_the_viewer_opens_only_the_links_answers_give(tmp_path: Path) -> None:
    """With API keys, a document's full text is shown only through the signed address an
    answer's citation carries (``view``): not by its collection and id alone, not with the
    token of another document, not once the links' secret is replaced. Without keys, no token
    is needed."""
    settings = Settings(data_dir=tmp_path / "data", api_keys=f"{ADMIN}:admin,{WIDGET}:ask")
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    widget = {"Authorization": f"Bearer {WIDGET}"}
    with served(assistant) as api:
        answer = api.post(
            "/api/v1/ask", json={"question": "Who founded Kestrel?"}, headers=widget
        ).json()
        cite = answer["citations"][0]
        assert cite["view"].startswith(f"/view/default/{cite['doc_id']}?") and "&t=" in cite["view"]
        page = api.get(cite["view"])
        assert page.status_code == 200 and cite["quote"] in page.text
        assert 'id="hl"' in page.text

        bare = api.get(f"/view/default/{cite['doc_id']}?start=0&end=10")
        assert bare.status_code == 403 and "not valid" in bare.text
        assert cite["quote"] not in bare.text and "Kestrel" not in bare.text
        token = cite["view"].split("&t=")[1].split("#")[0]
        other = api.get(f"/view/other/{cite['doc_id']}?t={token}")
        assert other.status_code == 403
        assert api.get(f"/view/default/{cite['doc_id']}?t=%FF%00{token}").status_code == 403

        # Streams, briefings and the OpenAI-compatible face give signed addresses too.
        brief = api.post("/api/v1/brief", json={}, headers=widget).json()
        assert all(api.get(c["view"]).status_code == 200 for c in brief["citations"][:3])
        chat = api.post(
            "/v1/chat/completions",
            json={
                "model": "default",
                "messages": [{"role": "user", "content": "Who founded Kestrel?"}],
            },
            headers=widget,
        ).json()
        assert api.get(chat["citations"][0]["view"]).status_code == 200

    # The links' secret is in the data dir (view.key): a new one retires every old link.
    (tmp_path / "data" / "view.key").unlink()
    with served(Assistant(settings)) as api:
        assert api.get(cite["view"]).status_code == 403

    with served(Assistant(Settings(data_dir=tmp_path / "data"))) as api:
        bare = api.get(f"/view/default/{cite['doc_id']}?start=0&end=10")
        assert bare.status_code == 200 and "Kestrel" in bare.text


def test_openai_package_against_our_server(api: httpx.Client) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{str(api.base_url).rstrip('/')}/v1", api_key="unused-no-keys")
    models = [m.id for m in client.models.list()]
    assert "default" in models

    history = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Who founded Kestrel?"},
        {"role": "assistant", "content": "Priya Raman. [1]"},
        {"role": "user", "content": "What did she acknowledge?"},
    ]
    reply = client.chat.completions.create(model="default", messages=history)
    assert "acknowledged" in reply.choices[0].message.content
    citations = reply.model_extra["citations"]
    assert citations and "ban on foreign engines" in citations[0]["quote"]

    stream = client.chat.completions.create(
        model="default",
        messages=[{"role": "user", "content": "Which engines did Kestrel use?"}],
        stream=True,
    )
    pieces, last = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        last = chunk
    assert "M40" in "".join(pieces)
    assert last is not None and last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"]


def test_upload_size_limit(tmp_path: Path) -> None:
    assistant = Assistant(Settings(data_dir=tmp_path / "data", max_file_mb=0.001))  # ~1 KB
    with served(assistant) as api:
        big = [("files", ("big.txt", b"A sentence of some length here. " * 200))]
        r = api.post("/api/v1/documents", files=big)
        assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
        assert assistant.documents() == []


def test_without_keys_the_server_keeps_to_loopback(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env={
            **os.environ,
            "BRIEF_DATA_DIR": str(tmp_path / "data"),
            "BRIEF_HOST": "0.0.0.0",
            "BRIEF_PORT": str(port),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        assert "serving on 127.0.0.1 only" in first
        wait_for(
            proc,
            lambda: httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).is_success,
            timeout=60,
            what="the app",
        )
        with socket.socket() as s:  # nothing listens on the machine's other addresses
            s.settimeout(1)
            other = socket.gethostbyname(socket.gethostname())
            if other.startswith("127."):
                return  # no other address to try on this machine
            assert s.connect_ex((other, port)) != 0
    finally:
        stop(proc)


def test_ask_and_stream_carry_the_short_answer(api: httpx.Client) -> None:
    data = api.post("/api/v1/ask", json={"question": "Where is Kestrel based?"}).json()
    assert data["short"] == "Pune" and data["short_citation"] == 1
    # The viewer opens the document with exactly the short answer highlighted.
    page = api.get(data["short_view"])
    assert page.status_code == 200 and '<mark id="hl">Pune</mark>' in page.text

    r = api.post("/api/v1/ask/stream", json={"question": "How much did KX1 cost?"})
    done = events_of(r.text)[-1]
    assert done[0] == "done" and done[1]["short"] == "$18.5 million"
    assert done[1]["short_view"].startswith("/view/")

    refused = api.post("/api/v1/ask", json={"question": "What is the capital of Peru?"}).json()
    assert refused["abstained"] and refused["short"] is None and refused["short_view"] is None


def test_openai_face_carries_the_short_answer(api: httpx.Client) -> None:
    chat = {"model": "default", "messages": [{"role": "user", "content": "Who founded Kestrel?"}]}
    reply = api.post("/v1/chat/completions", json=chat).json()
    # The content stays the cited text; the short answer is an extra field beside citations.
    assert reply["short"] == "Priya Raman" and reply["short_citation"] == 1
    assert "Priya Raman" in reply["choices"][0]["message"]["content"]
    assert reply["short_view"].startswith("/view/")

    r = api.post("/v1/chat/completions", json={**chat, "stream": True})
    chunks = [
        json.loads(line[6:])
        for line in r.text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["short"] == "Priya Raman"
