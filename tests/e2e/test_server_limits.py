"""The server's own limits (issue 24, items 10 and 11), tried against a real server on 127.0.0.1.

- A URL fetch has a total deadline and a minimum rate (a server trickling its bytes cannot
  keep it alive), and it happens before the store's write lock: other writers go ahead
  meanwhile. A writer that cannot get the lock in time is refused with 503 ``store_busy`` and
  ``Retry-After``, not left waiting.
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
from tests.conftest import ARTICLE, served

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
        fetching = pool.submit(add_url, client, trickle.url(1))
        time.sleep(0.5)
        started = time.monotonic()
        r = upload(client, "ferry.txt", "Ferry notice\n\nThe ferry to Inishbeg leaves at 07:15.\n")
        assert r.status_code == 200, r.text
        doc_id = r.json()["results"][0]["doc_id"]
        assert client.delete(f"/api/v1/documents/{doc_id}").status_code == 200
        assert time.monotonic() - started < 2.0
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
