"""The server's own limits (issue 24, items 10 and 11), tried against a real server on 127.0.0.1.

- A URL fetch has a total deadline and a minimum rate (a server trickling its bytes cannot
  keep it alive), and it happens before the store's write lock: other writers go ahead
  meanwhile. A writer that cannot get the lock in time is refused with 503 ``store_busy`` and
  ``Retry-After``, not left waiting.
- Two files of one name in one upload are refused before anything is written: the stored file
  is not lost.
- API keys shorter than 24 characters stop the server at start, with a message that says so.
- ``/docs`` (Swagger UI, from a CDN) is off unless asked for; the schema is served from here.
- Viewer links are signed with a random secret kept in the data dir (0600) and expire; an ask
  key's links open the cited paragraph, not the whole document.
- ``/api/v1/health`` tells an ask key whether the server is ready, and nothing more.
- The chat's briefing exports are written in the data dir, not a shared ``/tmp`` folder.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.core import Assistant
from assistant.settings import Settings
from ingest.locking import WriteLock
from tests.conftest import ARTICLE, free_port, run_brief, served

ADMIN = "admin-key-limits-0123456789"
ASK = "ask-key-limits-0123456789ab"

# --- a web server that trickles --------------------------------------------------------------


class Trickle:
    """A web server on 127.0.0.1 that answers every GET with 200 and then ``rate`` bytes a
    second, forever (until the client hangs up or the server is closed: at most ``LIFE_S``)."""

    LIFE_S = 60.0

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, rate: int) -> str:
        """The address of a page sent at ``rate`` bytes a second."""
        return f"http://127.0.0.1:{self.port}/page-{rate}.txt"

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                got = conn.recv(4096)
                if not got:
                    return
                head += got
            rate = int(head.split(b" ")[1].split(b"-")[1].split(b".")[0])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nThe news:\n")
            ends = time.monotonic() + self.LIFE_S
            while not self.closed.is_set() and time.monotonic() < ends:
                try:
                    conn.sendall(b"a" * rate)
                except OSError:  # the client hung up
                    return
                time.sleep(1.0 if rate < 10 else 0.1)

    def close(self) -> None:
        self.closed.set()
        self.sock.close()


@pytest.fixture(scope="module")
def trickle() -> Iterator[Trickle]:
    server = Trickle()
    yield server
    server.close()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    """A server without keys over the test article: URLs within 4 s, at 1 KiB/s once 3 s have
    passed; a writer waits 1 s for another. Private URLs allowed: the trickling server is on
    loopback. Yields the client and the data dir."""
    data = tmp_path_factory.mktemp("limits") / "data"
    settings = Settings(
        data_dir=data,
        allow_private_urls=True,
        url_timeout_s=4,
        url_min_kib_per_s=1,
        write_wait_s=1,
        rate_limit_per_minute=0,
    )
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok  # the model is loaded: an upload takes a moment
    with served(assistant) as client:
        yield client, data


def add_url(client: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = client.post("/api/v1/documents", json={"url": url}, timeout=15)
    return r, time.monotonic() - started


def upload(client: httpx.Client, name: str, text: str, **kwargs: Any) -> httpx.Response:
    files = {"files": (name, text.encode(), "text/plain")}
    return client.post("/api/v1/documents", files=files, timeout=15, **kwargs)


# --- 10. a URL fetch: a total deadline, a minimum rate, outside the write lock ----------------


def test_a_trickling_server_is_cut_off_at_the_deadline_and_the_minimum_rate(
    open_server: tuple[httpx.Client, Path], trickle: Trickle
) -> None:
    """A page sent at 1 byte a second is abandoned once 3 s have shown it slower than 1 KiB/s;
    one sent at 2 KiB/s (fast enough) at the 4 s deadline. Before, each read had its own
    timeout and a trickle never ended: no answer within 15 s."""
    client, _ = open_server
    r, took = add_url(client, trickle.url(1))
    assert r.status_code == 207, r.text
    result = r.json()["results"][0]
    assert result["status"] == "failed" and "slower than the minimum" in result["reason"]
    assert 2.5 < took < 5, took

    r, took = add_url(client, trickle.url(2048))
    result = r.json()["results"][0]
    assert result["status"] == "failed" and "within the time allowed" in result["reason"]
    assert 3.5 < took < 6, took


def test_a_slow_fetch_does_not_hold_the_other_writers(
    open_server: tuple[httpx.Client, Path], trickle: Trickle
) -> None:
    """While a URL is being fetched from a trickling server, an upload and a removal go ahead
    at once: the fetch holds no lock. Before, the fetch ran inside the write lock and the upload
    waited for it, without end."""
    client, _ = open_server
    with ThreadPoolExecutor(1) as pool:
        # Fast enough for the minimum rate: it runs to its 4 s deadline.
        fetching = pool.submit(add_url, client, trickle.url(2048))
        time.sleep(0.5)
        started = time.monotonic()
        r = upload(client, "ferry.txt", "Ferry notice\n\nThe ferry to Inishbeg leaves at 07:15.\n")
        assert r.status_code == 200, r.text
        doc_id = r.json()["results"][0]["doc_id"]
        assert client.delete(f"/api/v1/documents/{doc_id}").status_code == 200
        assert time.monotonic() - started < 3.0
        assert not fetching.done()  # the fetch was still under way meanwhile
        assert fetching.result()[0].json()["results"][0]["status"] == "failed"


def test_a_writer_that_cannot_get_the_lock_in_time_is_told_to_retry(
    open_server: tuple[httpx.Client, Path],
) -> None:
    """Another write holds the store (this test holds its lock): an upload and a removal are
    refused after BRIEF_WRITE_WAIT_S (1 s) with 503 store_busy, Retry-After and the JSON error,
    and go ahead once it is free. Before, they waited for as long as the other write took."""
    client, data = open_server
    with WriteLock(data / "write.lock"):
        started = time.monotonic()
        r = upload(client, "tide.txt", "Tide table\n\nHigh water at Dunmore is at 14:02.\n")
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"]["code"] == "store_busy" and int(r.headers["Retry-After"]) > 0
        docs = client.get("/api/v1/documents").json()["documents"]
        removed = client.delete(f"/api/v1/documents/{docs[0]['doc_id']}")
        assert removed.status_code == 503 and removed.json()["error"]["code"] == "store_busy"
        assert time.monotonic() - started < 5
    assert upload(client, "tide.txt", "Tide table\n\nHigh water at 14:02.\n").status_code == 200


# --- 11. smaller: uploads of one name, short keys, /docs, view links, health, exports ---------


def test_two_files_of_one_name_in_one_upload_are_refused_and_nothing_is_lost(
    open_server: tuple[httpx.Client, Path],
) -> None:
    """An upload carrying "memo.txt" twice (a new text, then an empty file) is refused with 422
    duplicate_upload before anything is written: the stored memo, its file in the uploads
    folder and the document list are as they were. Before, the second file set the first aside
    in place of the stored one, and the stored file was lost (the folder then held the first
    upload, which the store never took)."""
    client, data = open_server
    good = b"Harbour memo\n\nThe night ferry to Orrin Point leaves at 23:40 from pier 6.\n"
    files = {"files": ("memo.txt", good, "text/plain")}
    assert client.post("/api/v1/documents", files=files).status_code == 200
    before = client.get("/api/v1/documents").json()["documents"]
    twice = [
        ("files", ("memo.txt", b"Harbour memo\n\nThe ferry is cancelled.\n", "text/plain")),
        ("files", ("memo.txt", b"", "text/plain")),
    ]
    r = client.post("/api/v1/documents", files=twice)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "duplicate_upload"
    assert (data / "uploads" / "default" / "memo.txt").read_bytes() == good
    assert client.get("/api/v1/documents").json()["documents"] == before


def test_a_key_shorter_than_24_characters_stops_the_server_at_start(tmp_path: Path) -> None:
    """``brief serve`` with a 14-character key exits at once (status 2) and says how long a key
    must be, without printing the key. Before, keys of 8 characters were taken and it served."""
    short = "short-key-0123"
    out = run_brief(
        "serve",
        "--port",
        str(free_port()),
        data_dir=tmp_path / "data",
        env={"BRIEF_API_KEYS": f"{ADMIN}:admin,{short}:ask"},
        timeout=60,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "BRIEF_API_KEYS entry 2: the key has 14 characters" in out.stderr
    assert "at least 24" in out.stderr and short not in out.stderr + out.stdout


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Assistant]]:
    """A server with an admin and an ask key over the test article."""
    data = tmp_path_factory.mktemp("keyed") / "data"
    settings = Settings(data_dir=data, api_keys=f"{ADMIN}:admin,{ASK}:ask", rate_limit_per_minute=0)
    assistant = Assistant(settings)
    assert assistant.ingest([ARTICLE]).ok
    with served(assistant) as client:
        yield client, assistant


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_docs_page_is_off_and_nothing_is_loaded_from_a_cdn(
    keyed: tuple[httpx.Client, Assistant],
) -> None:
    """``/docs`` is a 404 JSON error unless BRIEF_API_DOCS is set, so no page of the server
    loads Swagger UI's script from a CDN into its origin; the schema is served from here.
    Before, /docs was a page that loaded it from cdn.jsdelivr.net (and showed nothing
    offline)."""
    client, _ = keyed
    docs = client.get("/docs")
    assert docs.status_code == 404 and "cdn" not in docs.text
    assert docs.json()["error"]["code"] == "not_found"
    assert "/api/v1/ask" in client.get("/openapi.json").json()["paths"]


def test_view_links_are_signed_with_a_secret_of_the_data_dir_expire_and_show_ask_keys_a_paragraph(
    keyed: tuple[httpx.Client, Assistant],
) -> None:
    """A citation's link carries its expiry (``e``) and a token made with a random secret kept
    in the data dir (``view.key``, mode 0600). An ask key's link opens the cited paragraph
    only, an admin key's the whole document; neither can be widened (``p`` dropped, ``e``
    moved) and an expired link is refused. Before, links never expired, their secret was
    derived from the keys, and an ask key's link opened the whole document."""
    client, assistant = keyed
    question = {"question": "Who founded Kestrel?"}
    secret = assistant.settings.data_dir / "view.key"

    asked = client.post("/api/v1/ask", json=question, headers=bearer(ASK)).json()
    cite = asked["citations"][0]
    assert "&e=" in cite["view"] and "&p=1" in cite["view"] and "&t=" in cite["view"]
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_text().strip()) == 64
    part = client.get(cite["view"])
    assert part.status_code == 200 and cite["quote"] in part.text
    whole_text = assistant.document(cite["doc_id"]).text
    assert "an excerpt" in part.text and len(part.text) < len(whole_text)

    admin = client.post("/api/v1/ask", json=question, headers=bearer(ADMIN)).json()
    view = admin["citations"][0]["view"]
    assert "&e=" in view and "&p=" not in view
    whole = client.get(view)
    assert whole.status_code == 200 and "an excerpt" not in whole.text
    assert len(whole.text) > len(whole_text)

    widened = client.get(cite["view"].replace("&p=1", ""))
    assert widened.status_code == 403 and "not valid" in widened.text
    expires = cite["view"].split("&e=")[1].split("&")[0]
    later = client.get(cite["view"].replace(f"&e={expires}", f"&e={int(expires) + 86400}"))
    assert later.status_code == 403

    # A link the server signed a minute ago that was valid for no time at all.
    from assistant.faces.view_links import ViewLinks

    links = ViewLinks(assistant.settings)
    links.ttl_s = -60
    params = links.signer()("default", cite["doc_id"], 0, 10)
    assert params is not None
    query = "&".join(f"{k}={v}" for k, v in params.items())
    expired = client.get(f"/view/default/{cite['doc_id']}?start=0&end=10&{query}")
    assert expired.status_code == 403 and "expired" in expired.text


def test_health_details_are_for_admin_keys_only(keyed: tuple[httpx.Client, Assistant]) -> None:
    """An ask key (public in a widget's page) learns whether the server is ready; package
    versions, counts and the answerer are for an admin key. Before, the ask key got them all."""
    client, _ = keyed
    asked = client.get("/api/v1/health", headers=bearer(ASK))
    assert asked.status_code == 200 and asked.json() == {"ready": True}
    admin = client.get("/api/v1/health", headers=bearer(ADMIN)).json()
    assert "chromadb" in admin["versions"] and admin["documents"] >= 1


def test_briefing_exports_are_written_in_the_data_dir(
    keyed: tuple[httpx.Client, Assistant],
) -> None:
    """The chat's "Brief me" export is offered from BRIEF_DATA_DIR/exports (mode 0700), the
    server's own folder. Before, it went to <tmp>/briefing-exports, a folder whose name any
    user of the machine could guess and take first."""
    from assistant.faces.web.chat import ChatApp

    _, assistant = keyed
    chat = ChatApp(assistant, samples=False)
    _, _, download = chat.brief("", [{"role": "user", "content": "Brief me"}], "default")
    path = Path(download["value"])
    exports = assistant.settings.data_dir / "exports"
    assert path.is_file() and path.is_relative_to(exports), path
    assert exports.stat().st_mode & 0o777 == 0o700
