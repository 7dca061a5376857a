"""URL ingest and server-side request forgery: real HTTP servers on loopback addresses.

By default a URL, or any redirect it leads to, that reaches a loopback, private, link-local or
otherwise non-public address is refused before a connection is made; ``BRIEF_ALLOW_PRIVATE_URLS``
lets them through. There is no internet here, so two tests need a stand-in for a public site:
they declare one loopback address (127.0.0.2) public by wrapping ``not_public``, and one fakes
DNS (``socket.getaddrinfo``) for made-up names. Everything else is the real fetcher, over real
sockets.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.core import Assistant
from assistant.errors import FetchError
from assistant.settings import Settings
from ingest.loaders import url as url_module
from ingest.loaders.url import fetch_url, not_public
from tests.conftest import served

PAGE = (
    b"<html><head><title>Harbour works</title></head><body><article><h1>Harbour works</h1>"
    b"<p>The harbour wall at Kilrush will be rebuilt in 2027 at a cost of 12 million euros, "
    b"the port authority said.</p></article></body></html>"
)
HINT = "BRIEF_ALLOW_PRIVATE_URLS=true"


class Site:
    """A web server on ``host``: ``/page.html`` is an article, ``/go?to=URL`` redirects; it
    records each request's path and Host header."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.seen: list[tuple[str, str]] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.seen.append((self.path, self.headers.get("Host", "")))
                if self.path.startswith("/go?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/go?to="))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture
def public_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A site on 127.0.0.2, which the address check is told to take for a public address."""
    real = url_module.not_public
    fake_public = ipaddress.ip_address("127.0.0.2")
    monkeypatch.setattr(
        url_module, "not_public", lambda ip: None if ip == fake_public else real(ip)
    )
    s = Site("127.0.0.2")
    yield s
    s.close()


def refused(url: str, **kwargs: Any) -> str:
    with pytest.raises(FetchError) as info:
        fetch_url(url, max_bytes=1_000_000, timeout=5, **kwargs)
    return str(info.value)


def test_loopback_is_refused_in_every_spelling_unless_allowed(site: Site) -> None:
    port = site.port
    spellings = {
        f"http://127.0.0.1:{port}/page.html": "refused: 127.0.0.1 is a loopback address",
        f"http://localhost:{port}/page.html": "localhost resolves to 127.0.0.1, a loopback",
        f"http://2130706433:{port}/page.html": "2130706433 resolves to 127.0.0.1",  # decimal
        f"http://0x7f.1:{port}/page.html": "0x7f.1 resolves to 127.0.0.1",  # hex, short form
        f"http://127.1:{port}/page.html": "127.1 resolves to 127.0.0.1",
        f"http://[::ffff:127.0.0.1]:{port}/page.html": "::ffff:127.0.0.1 is a loopback",
        f"http://[::1]:{port}/page.html": "::1 is a loopback address",
        f"HTTP://LOCALHOST:{port}/page.html": "localhost resolves to 127.0.0.1",
    }
    for url, reason in spellings.items():
        message = refused(url)
        assert reason in message and HINT in message, (url, message)
    # An octal spelling is not even a valid address to the HTTP client.
    assert "not a valid web address" in refused(f"http://0177.0.0.1:{port}/page.html")
    assert site.seen == []  # refused before any connection

    fetched = fetch_url(f"http://127.0.0.1:{port}/page.html", 1_000_000, 5, allow_private=True)
    assert b"Kilrush" in fetched.data and fetched.content_type == "text/html"
    by_name = fetch_url(f"http://localhost:{port}/page.html", 1_000_000, 5, allow_private=True)
    assert by_name.url == f"http://localhost:{port}/page.html"
    assert site.seen[-1] == ("/page.html", f"localhost:{port}")  # the name kept in Host


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("[fd00::1]", "a private address"),  # unique local
        ("[fe80::1]", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
        ("[::]", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("[ff02::1]", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("[::ffff:10.0.0.1]", "a private address"),  # IPv4-mapped
        ("[::ffff:169.254.169.254]", "a link-local address"),
        ("[64:ff9b::7f00:1]", "a loopback address"),  # NAT64 of 127.0.0.1
        ("[2002:7f00:1::1]", "a loopback address"),  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str, why: str) -> None:
    message = refused(f"http://{address}/latest/meta-data/")
    assert why in message and HINT in message


def test_public_addresses_pass_the_check() -> None:
    for address in ("8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"):
        assert not_public(ipaddress.ip_address(address)) is None


def test_only_web_addresses_are_fetched() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://127.0.0.1:70/", "http:///x"):
        assert "only http:// and https://" in refused(url, allow_private=True)


def test_every_redirect_is_checked(public_site: Site, site: Site) -> None:
    go = f"{public_site.base}/go?to="
    # A public page that redirects into this machine is refused at the redirect...
    message = refused(f"{go}http://127.0.0.1:{site.port}/page.html")
    assert "redirected to http://127.0.0.1" in message and "loopback" in message
    message = refused(f"{go}http://2130706433:{site.port}/page.html")
    assert "2130706433 resolves to 127.0.0.1" in message
    message = refused(f"{go}http://169.254.169.254/latest/meta-data/")
    assert "link-local" in message
    assert "only http:// and https://" in refused(f"{go}file:///etc/passwd")
    assert site.seen == []  # ...before any request reaches it
    # ...while a redirect within public addresses is followed, up to five of them.
    fetched = fetch_url(f"{go}/page.html", 1_000_000, 5)
    assert b"Kilrush" in fetched.data and fetched.url == f"{public_site.base}/page.html"
    loop = f"{go}{go}{go}{go}{go}{go}/page.html"
    assert "more than 5 redirects" in refused(loop)


def test_a_name_is_resolved_once_and_the_checked_address_is_used(
    monkeypatch: pytest.MonkeyPatch, public_site: Site
) -> None:
    # DNS rebinding: "news.test" answers with a public address for the check, then with
    # 127.0.0.1 — where a second server waits on the same port — for anyone who asks again.
    inside = Site("127.0.0.1", public_site.port)
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake_dns(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("news.test", "mixed.test"):
            asked.append(host)
            first = "127.0.0.2" if host == "news.test" and len(asked) == 1 else "127.0.0.1"
            answers = [first] if host == "news.test" else ["127.0.0.2", "127.0.0.1"]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 80)) for ip in answers]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    try:
        fetched = fetch_url(f"http://news.test:{public_site.port}/page.html", 1_000_000, 5)
        assert b"Kilrush" in fetched.data
        assert asked == ["news.test"]  # resolved once, by the check
        assert public_site.seen == [("/page.html", f"news.test:{public_site.port}")]
        assert inside.seen == []
        # A name with a public and a private address is refused, whichever comes first.
        message = refused(f"http://mixed.test:{public_site.port}/page.html")
        assert "mixed.test resolves to 127.0.0.1, a loopback address" in message
        assert inside.seen == []
    finally:
        inside.close()


def test_the_api_refuses_private_urls_and_stores_nothing(tmp_path: Path, site: Site) -> None:
    assistant = Assistant(Settings(data_dir=tmp_path / "data", url_timeout_s=5))
    with served(assistant) as api:
        for url in (
            f"{site.base}/page.html",
            f"http://localhost:{site.port}/page.html",
            "http://169.254.169.254/latest/meta-data/iam/",
            f"http://[::ffff:127.0.0.1]:{site.port}/page.html",
        ):
            r = api.post("/api/v1/documents", json={"url": url, "collection": "web"})
            assert r.status_code == 207, r.text
            (result,) = r.json()["results"]
            assert result["status"] == "failed" and "refused" in result["reason"]
            assert HINT in result["reason"]
        bad = api.post("/api/v1/documents", json={"url": "file:///etc/passwd"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
        # nothing stored: not even the collection was made (reading it is the 404 of one that
        # does not exist)
        listed = api.get("/api/v1/documents", params={"collection": "web"})
        assert listed.status_code == 404 and listed.json()["error"]["code"] == "not_found"
        assert "web" not in api.get("/api/v1/collections").json()["collections"]
    assert site.seen == []


def test_the_setting_lets_the_api_fetch_from_this_network(tmp_path: Path, site: Site) -> None:
    settings = Settings(data_dir=tmp_path / "data", allow_private_urls=True)
    with served(Assistant(settings)) as api:
        r = api.post("/api/v1/documents", json={"url": f"{site.base}/page.html"})
        assert r.status_code == 200 and r.json()["results"][0]["status"] == "ingested"


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().allow_private_urls is False
    monkeypatch.setenv("BRIEF_ALLOW_PRIVATE_URLS", "true")
    assert Settings().allow_private_urls is True
