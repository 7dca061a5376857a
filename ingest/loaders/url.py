"""Fetching a document from an http(s) URL: size cap, a total time limit and a minimum rate,
and no reach into private networks.

A URL given to the assistant is fetched by the server, so a caller could use it to reach what
only the server can: its own loopback services, the office network, a cloud's metadata
endpoint (server-side request forgery). Unless ``BRIEF_ALLOW_PRIVATE_URLS`` is set, every hop
(the URL and each redirect, followed here one by one) must name a host whose addresses are all
public. The host is resolved once and the connection goes to the address that was checked (the
request keeps the host's name in its ``Host`` header and TLS SNI, so certificates are verified
against the name): a DNS answer that changes between the check and the connection (DNS
rebinding) cannot redirect it.

The time limit is the whole fetch's, not each read's: a server that trickles a byte a second
never lets a read time out, so a watch (``_Watch``) ends the connection at the deadline, or
sooner once the download has run ``RATE_GRACE_S`` seconds slower than the minimum rate. The
pipeline fetches before it takes the store's write lock (``ingest/pipeline.py``), so a slow
server costs its own request only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from assistant.errors import FetchError, TooLarge

if TYPE_CHECKING:
    import httpx

#: Redirects followed before giving up.
MAX_REDIRECTS = 5
#: Seconds a download may run before its average rate is held to the minimum: a server may
#: take a moment to start sending.
RATE_GRACE_S = 3.0
_ALLOW_HINT = "set BRIEF_ALLOW_PRIVATE_URLS=true to allow addresses on this network"
# IPv6 forms that carry an IPv4 address the packets may end up at (NAT64's well-known prefix).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class Fetched:
    """A downloaded document: its bytes, final URL and declared content type."""

    data: bytes
    url: str
    content_type: str


def is_url(value: str) -> bool:
    """Whether ``value`` names a web address rather than a path."""
    return value.lower().startswith(("http://", "https://"))


def not_public(ip: Address) -> str | None:
    """Why ``ip`` is not a public internet address ("a loopback address"...), or None if it is.

    IPv4 addresses inside IPv6 ones (``::ffff:127.0.0.1``, 6to4, Teredo, NAT64) are judged by the
    IPv4 address they carry.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        inner = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for embedded in filter(None, inner):
            if why := not_public(embedded):
                return why
    checks = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for bad, why in checks if bad), None)


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal, in any form, resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"could not find the server {host!r}") from exc
    found: list[Address] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise FetchError(f"could not find the server {host!r}")
    return found


def checked_addresses(host: str, port: int, allow_private: bool) -> list[Address]:
    """The addresses to connect to for ``host``; ``FetchError`` if any of them is not public
    (unless ``allow_private``). All must pass: a name that also resolves to a private address
    is refused even when a public one comes first."""
    addresses = resolve(host, port)
    if allow_private:
        return addresses
    for ip in addresses:
        if why := not_public(ip):
            what = f"{host} is" if _same_address(host, ip) else f"{host} resolves to {ip},"
            raise FetchError(f"refused: {what} {why}; {_ALLOW_HINT}")
    return addresses


def fetch_url(
    url: str,
    max_bytes: int,
    timeout: float = 20.0,
    allow_private: bool = False,
    min_bytes_per_s: float = 0.0,
) -> Fetched:
    """Download ``url`` (http or https only), following up to ``MAX_REDIRECTS`` redirects, at
    most ``max_bytes``, within ``timeout`` seconds in all (connecting, redirects and the whole
    body), at ``min_bytes_per_s`` on average once the body has been coming for
    ``RATE_GRACE_S`` seconds. Each hop's host must resolve to public addresses only, unless
    ``allow_private`` (``BRIEF_ALLOW_PRIVATE_URLS``); the connection goes to the address checked.
    ``FetchError`` says which limit ended it.
    """
    import httpx

    deadline = time.monotonic() + timeout
    headers = {"User-Agent": "BriefingAssistant/0.1 (+document ingest)"}
    watch: _Watch | None = None
    try:
        with httpx.Client(follow_redirects=False, headers=headers) as client:
            for hop in range(MAX_REDIRECTS + 1):
                try:
                    target = _web_address(url)
                    response = _send(client, target, allow_private, deadline)
                except FetchError as exc:
                    raise FetchError(f"redirected to {url}: {exc}" if hop else str(exc)) from exc
                watch = _Watch(response, deadline, min_bytes_per_s)
                try:
                    if response.is_redirect:
                        url = str(target.join(response.headers["location"]))
                        continue
                    if response.status_code >= 400:
                        raise FetchError(f"the server answered HTTP {response.status_code}")
                    return _read(response, str(target), max_bytes, watch)
                finally:
                    watch.stop()
                    response.close()
    except httpx.TimeoutException as exc:
        raise FetchError(f"not fetched within {timeout:g} s") from exc
    except httpx.HTTPError as exc:
        if watch is not None and watch.why:  # the watch ended the connection
            raise FetchError(watch.why) from exc
        raise FetchError(f"could not fetch: {exc}") from exc
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


class _Watch:
    """Ends a response's connection at the fetch's deadline, or once its body comes slower than
    the minimum rate (after ``RATE_GRACE_S``): a read blocked on the socket returns at once.
    ``why`` says which, for the error the fetch then raises."""

    #: How often the watch looks, in seconds.
    TICK = 0.1

    def __init__(self, response: httpx.Response, deadline: float, min_bytes_per_s: float) -> None:
        self.deadline = deadline
        self.min_rate = min_bytes_per_s
        self.started = time.monotonic()
        self.received = 0
        self.why: str | None = None
        stream = response.extensions.get("network_stream")
        self._socket = stream.get_extra_info("socket") if stream is not None else None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fetch-watch", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """``FetchError`` if the deadline has passed or the download is too slow."""
        why = self.why or self._late()
        if why:
            self.why = why
            raise FetchError(why)

    def stop(self) -> None:
        self._done.set()

    def _late(self) -> str | None:
        now = time.monotonic()
        if now >= self.deadline:
            return f"not fetched within the time allowed ({self.received:,} bytes received)"
        elapsed = now - self.started
        if self.min_rate > 0 and elapsed >= RATE_GRACE_S:
            rate = self.received / elapsed
            if rate < self.min_rate:
                return (
                    f"the server sent {rate:,.0f} bytes a second, slower than the minimum of "
                    f"{self.min_rate:,.0f}"
                )
        return None

    def _run(self) -> None:
        while not self._done.wait(self.TICK):
            why = self._late()
            if why:
                self.why = why
                if self._socket is not None:
                    # The socket itself, under any TLS layer: shutting it down wakes the read.
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(self._socket, socket.SHUT_RDWR)
                return


def suffix_for(fetched: Fetched, content_types: dict[str, str]) -> str:
    """The loader suffix for a fetched document: its content type, else its URL's extension."""
    if fetched.content_type in content_types:
        return content_types[fetched.content_type]
    suffix = PurePosixPath(urlsplit(fetched.url).path).suffix.lower()
    return suffix or ".html"


# --- one hop ---------------------------------------------------------------------------------


def _web_address(url: str) -> httpx.URL:
    """``url`` parsed, if it is an http(s) address with a host; else ``FetchError``."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"{url!r} is not a valid web address ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise FetchError(f"only http:// and https:// addresses can be fetched, not {url!r}")
    return parsed


def _send(
    client: httpx.Client, target: httpx.URL, allow_private: bool, deadline: float
) -> httpx.Response:
    """The streamed response to GET ``target``, from one of its host's checked addresses."""
    import httpx

    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    last: Exception | None = None
    for ip in checked_addresses(host, port, allow_private):
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.TimeoutException("time is up")
        # Host header and TLS name (SNI, certificate check) from the URL; the socket to ``ip``.
        request = client.build_request(
            "GET", target, timeout=left, extensions={"sni_hostname": host}
        )
        request.url = target.copy_with(host=str(ip))
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:  # as a browser does: try the host's next address
            last = exc
    assert last is not None
    raise last


def _read(response: httpx.Response, url: str, max_bytes: int, watch: _Watch) -> Fetched:
    declared = int(response.headers.get("content-length") or 0)
    if declared > max_bytes:
        raise TooLarge(f"{declared:,} bytes, more than the limit of {max_bytes:,} bytes")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        watch.received = size
        if size > max_bytes:
            raise TooLarge(f"more than the limit of {max_bytes:,} bytes")
        chunks.append(chunk)
        watch.check()
    watch.check()  # a body cut short by the watch reads as a short one
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return Fetched(data=b"".join(chunks), url=url, content_type=content_type)


def _same_address(host: str, ip: Address) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")) == ip
    except ValueError:
        return False
