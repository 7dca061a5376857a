"""The policy every route of the web server answers under, the chat's (Gradio) included: which
names it answers to, which web pages may call it, and how its cookies travel.

- **Host.** Without API keys the server is kept to loopback, and so are the names it answers to:
  ``localhost``, ``127.0.0.1`` and ``[::1]`` with any port, and those of ``BRIEF_ALLOWED_HOSTS``.
  Anything else is refused with 421 ``host_not_allowed`` before any route runs. A web page
  whose name its owner rebinds to 127.0.0.1 (DNS rebinding) is "same origin" with itself, so
  the origin check alone would let it in; its ``Host`` header still names the attacker's site.
  With keys, the check runs once ``BRIEF_ALLOWED_HOSTS`` names hosts; without names any will
  do, because a rebound page has no key and the browser sends it no cookie of the real name.
- **Origin.** A request that carries an ``Origin`` (browsers add it to cross-origin calls, and
  to every POST) from neither the server itself nor a site of ``BRIEF_WIDGET_ORIGINS`` is
  refused with 403 ``origin_not_allowed`` before any route, key check or rate limit runs. The
  listed sites may call the API (``/api/v1/``, ``/v1/``) and nothing else: the chat's routes
  (Gradio's ``/gradio_api/...``, ``/login``, ``/config``, uploads, the queue) answer the
  server's own pages only. Credentials are never allowed across origins: no response to
  another site carries ``Access-Control-Allow-Credentials``, whatever the route behind set.
- **Cookies.** Every cookie the server sets (the chat's sign-in) is ``SameSite=Strict``: a
  request that another site starts carries none of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from assistant.faces.errors import error_body

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from assistant.settings import Settings

#: Names a server kept to loopback answers to, with any port.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
#: The routes a page on another site may call, if its origin is listed.
CROSS_ORIGIN_PREFIXES = ("/api/v1/", "/v1/")
#: Public files any page may fetch, as a module script too (``<script type="module">``
#: sends an ``Origin``); they carry no one's data.
ANY_ORIGIN_FILES = frozenset({"/widget.js"})
#: What a preflight of the API allows: the widget asks with a key and a JSON body; cached for
#: 10 minutes.
PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-max-age", b"600"),
]
JSON_CONTENT = [(b"content-type", b"application/json")]
_SAME_SITE = re.compile(rb";[ \t]*samesite[ \t]*=[^;]*", re.IGNORECASE)


def answered_hosts(settings: Settings, keyed: bool) -> frozenset[str] | None:
    """The names (``name`` for any port, or ``name:port``) a request's ``Host`` must give, or
    None when any will do: with API keys (``keyed``) and no ``BRIEF_ALLOWED_HOSTS``."""
    if keyed and not settings.allowed_hosts:
        return None
    return LOOPBACK_HOSTS | frozenset(settings.allowed_hosts)


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    """Whether the ``Host`` header ``host`` names one of ``allowed`` (see ``answered_hosts``)."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 address: [::1]:7860
        name, bracket, rest = host.partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return False
        name, port = name + "]", rest[1:] or None
    else:
        name, _, port_text = host.partition(":")
        port = port_text or None
    name = name.rstrip(".")
    if not name or (port is not None and not port.isdigit()):
        return False
    return name in allowed or (port is not None and f"{name}:{port}" in allowed)


def own_origin(origin: str, host: str, names: frozenset[str] = frozenset()) -> bool:
    """Whether a page of ``origin`` is the server's own: reached by ``host`` (the ``Host``
    header; a port a browser leaves out, 80 for http and 443 for https, may be given or not),
    or by one of ``names``, the operator's ``BRIEF_ALLOWED_HOSTS`` (so that a proxy which
    passes on another ``Host`` does not shut out the chat's own page)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    default = ":443" if parts.scheme == "https" else ":80"
    netloc = parts.netloc.lower()
    if host and netloc.removesuffix(default) == host.strip().lower().removesuffix(default):
        return True
    served_on = netloc if netloc.rsplit("]", 1)[-1].count(":") else netloc + default
    # Not a loopback name for any port: other programs of the machine serve other pages there.
    return host_allowed(served_on, names - LOOPBACK_HOSTS)


class RoutePolicy:
    """ASGI middleware in front of every route: the ``Host``, the ``Origin`` and the cookies
    (see the module). ``allowed_origins`` are ``BRIEF_WIDGET_ORIGINS``; ``hosts`` what
    ``answered_hosts`` gives; ``names`` the server's own (``BRIEF_ALLOWED_HOSTS``), whose
    pages are its own pages.

    A refusal of the API to a page of another site carries ``Access-Control-Allow-Origin``,
    and the API answers any preflight. Otherwise the browser hides the 403 from the page, and
    the widget would see the same ``TypeError`` as for a dropped connection: it could only say
    "can't reach the assistant" to a site owner who has to be told "this site is not on the
    list". This grants nothing: a preflight only lets the browser send the real request, which
    is refused unread, and never with credentials.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_origins: tuple[str, ...],
        hosts: frozenset[str] | None,
        names: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.allowed = frozenset(allowed_origins)
        self.hosts = hosts
        self.names = frozenset(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.datastructures import Headers

        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.hosts is not None and not host_allowed(host, self.hosts):
            message = (
                f"this server does not answer to the name {host[:100]!r}: use localhost or "
                "127.0.0.1, or list the name in BRIEF_ALLOWED_HOSTS"
            )
            return await _refuse(scope, send, 421, "host_not_allowed", message)

        origin = headers.get("origin")
        foreign = origin is not None and not own_origin(origin, host, self.names)
        method = scope.get("method", "GET")  # a WebSocket has none: it opens with a GET
        api = scope["path"].startswith(CROSS_ORIGIN_PREFIXES)
        public = scope["path"] in ANY_ORIGIN_FILES and method in ("GET", "HEAD")
        if origin is not None and foreign:
            if api and method == "OPTIONS" and "access-control-request-method" in headers:
                return await _reply(send, 204, b"", _cors(origin) + PREFLIGHT)
            listed = origin.lower() in self.allowed
            if not (public or (api and listed)):
                return await _refuse(
                    scope,
                    send,
                    403,
                    "origin_not_allowed",
                    _origin_refused(origin, api, listed),
                    _cors(origin) if api else None,
                )

        async def send_as_policy(event: Message) -> None:
            if event["type"] == "http.response.start":
                kept = _policy_headers(event.get("headers", ()), foreign)
                if origin is not None and foreign and api:
                    kept += [*_cors(origin), (b"access-control-expose-headers", b"Retry-After")]
                elif foreign and public:  # without credentials: "*" allows none
                    kept.append((b"access-control-allow-origin", b"*"))
                event = {**event, "headers": kept}
            await send(event)

        await self.app(scope, receive, send_as_policy)


def _policy_headers(
    headers: Iterable[tuple[bytes, bytes]], foreign: bool
) -> list[tuple[bytes, bytes]]:
    """A response's headers under the policy: cookies ``SameSite=Strict``; to another site, no
    CORS header of the route's own (Gradio's allow credentials; the policy adds the API's)."""
    kept = []
    for name, value in headers:
        lowered = name.lower()
        if foreign and lowered.startswith(b"access-control-"):
            continue
        if lowered == b"set-cookie":
            value = _SAME_SITE.sub(b"", value) + b"; SameSite=Strict"
        kept.append((name, value))
    return kept


def _origin_refused(origin: str, api: bool, listed: bool) -> str:
    """Why pages of ``origin`` may not make this call, in words a site's owner can act on."""
    if api:
        return (
            f"pages of {origin} may not use this assistant: the server's list of sites "
            "(BRIEF_WIDGET_ORIGINS) does not include it"
        )
    if listed:
        return (
            f"pages of {origin} may call the API (/api/v1/, /v1/) only: the chat's routes "
            "answer its own pages"
        )
    return f"pages of {origin} may not call this server: only its own pages may"


def _cors(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    if scope["type"] == "websocket":  # closed before it is accepted: the server answers 403
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps(error_body(code, message)).encode()
    await _reply(send, status, body, [*(headers or []), *JSON_CONTENT])


async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    length = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + length})
    await send({"type": "http.response.body", "body": body})
