"""Who may call the API, on which collections, and how often: API keys with scopes and
collections, and a rate limit.

``BRIEF_API_KEYS`` lists keys, comma-separated, each ``key:scope`` with an ask key's collections
after ``@`` (``"k1:admin,k2:ask@widget+faq"``; parsed and checked with the settings,
``settings.parse_api_keys``). An ``admin`` key may do everything, on every collection; an
``ask`` key may ask, stream, brief and read the health, of its collections only (the default
collection when it names none): what a public widget may hold. A collection a key may not read
is answered exactly as one that does not exist (``readable``: 404), and no read creates
a collection. Without keys every caller is admin, and the server keeps to loopback unless told
otherwise (``assistant/faces/serve.py``). Every caller gets ``BRIEF_RATE_LIMIT_PER_MINUTE``
requests a minute (a token bucket); beyond that, 429 with ``Retry-After``. The caller is the
key that matched (however the header spells it), or the client's address when no key is
configured; a failed authentication (no valid key, a sign-in to the chat) is counted against
its address.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from fastapi import Request

from assistant.settings import KeyGrant, parse_api_keys

if TYPE_CHECKING:
    from assistant.settings import Settings

#: What a caller may do without keys (every caller), or over stdio (the local user).
EVERYTHING = KeyGrant("admin", None)
#: Callers remembered by the rate limit before idle ones are forgotten.
MAX_CALLERS = 100_000


def parse_keys(spec: str | None, default: str = "default") -> dict[str, KeyGrant]:
    """``"k1:admin,k2:ask@faq"`` -> {key: its grant} (``settings.parse_api_keys``)."""
    return parse_api_keys(spec, default)


class RateLimit:
    """A token bucket per caller: ``per_minute`` requests, refilled evenly."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        """0 if the request may go ahead, else the seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(caller, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[caller] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > MAX_CALLERS:  # forget callers idle for two minutes
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
            return 0.0 if allowed else (1.0 - tokens) / rate


class Guard:
    """Checks a request's key, scope and rate: for the FastAPI routes (``needs``), and before a
    body is read (``admit``, ``assistant/faces/http/gate.py``)."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.api_keys.get_secret_value() if settings.api_keys else None
        self.keys = parse_keys(secret, settings.collection)
        #: Each key's name in the rate limit (the keys themselves are kept in one place only).
        self._names = {key: f"key {n}" for n, key in enumerate(self.keys)}
        self.limit = RateLimit(settings.rate_limit_per_minute)

    @property
    def open(self) -> bool:
        """True when no keys are configured: anyone who reaches the server is admin."""
        return not self.keys

    def _matched(self, authorization: str | None) -> str | None:
        """The configured key that ``Authorization: Bearer <key>`` names, if any (the scheme
        in any case, spaces around the key ignored; compared in constant time)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        given = authorization[7:].strip().encode()
        matched = None
        for key in self.keys:
            if hmac.compare_digest(given, key.encode()):
                matched = key
        return matched

    def grant_of(self, authorization: str | None) -> KeyGrant | None:
        """What an ``Authorization`` header grants; None without a valid key."""
        if self.open:
            return EVERYTHING
        key = self._matched(authorization)
        return self.keys[key] if key is not None else None

    def scope_of(self, authorization: str | None) -> str | None:
        """The scope an ``Authorization`` header grants; None without a valid key."""
        grant = self.grant_of(authorization)
        return grant.scope if grant is not None else None

    def admit(self, authorization: str | None, address: str) -> tuple[str, str]:
        """The scope a request's key grants and who it counts as for the rate limit: the key
        that matched, or the address when no keys are configured. Without a valid key, the
        ``ApiError`` that refuses it: 401, counted against ``address`` (429 beyond the rate),
        so that guessing keys costs what asking does."""
        grant, caller = self._admitted(authorization, address)
        return grant.scope, caller

    def _admitted(self, authorization: str | None, address: str) -> tuple[KeyGrant, str]:
        if self.open:
            return EVERYTHING, f"address {address}"
        key = self._matched(authorization)
        if key is None:
            self.count(address)
            from assistant.faces.errors import ApiError

            raise ApiError(401, "unauthorized", "send a valid API key: Authorization: Bearer <key>")
        return self.keys[key], self._names[key]

    def count(self, address: str) -> None:
        """Count an authentication attempt (a failed one, a sign-in) against ``address``: the
        429 ``ApiError`` once the address is over the rate."""
        self.take(f"address {address}")

    def take(self, caller: str) -> None:
        """Count a request of ``caller``: the 429 ``ApiError`` once it is over the rate."""
        from assistant.faces.errors import ApiError

        wait = self.limit.take(caller)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests; try again in {math.ceil(wait)} s",
                headers={"Retry-After": str(math.ceil(wait))},
            )

    def needs(self, scope: str) -> Callable[..., KeyGrant]:
        """A dependency that lets the request through with a key of ``scope`` (an admin key
        may do anything), counted against its caller's rate; it returns the key's grant, also
        kept as ``request.state.grant`` for the route (``grant``)."""
        from assistant.faces.errors import ApiError

        def check(request: Request) -> KeyGrant:
            granted, caller = self._admitted(request.headers.get("authorization"), address(request))
            if scope == "admin" and granted.scope != "admin":
                raise ApiError(403, "forbidden", "this key may only ask questions")
            self.take(caller)
            request.state.grant = granted
            return granted

        return check


# --- which collections a key reads --------------------------------------------------------------


def visible(grant: KeyGrant, existing: Iterable[str], default: str) -> list[str]:
    """The collections ``grant`` may read and that exist, sorted: those of ``existing`` and
    the default collection ``default`` (which exists before anything is added to it)."""
    return sorted(c for c in {*existing, default} if grant.reads(c))


def readable(grant: KeyGrant, name: str | None, existing: Iterable[str], default: str) -> str:
    """The collection a request of ``grant`` reads: ``name``, or the key's own when it names
    none. Not a collection name: 422 ``invalid_collection``. One that does not exist (in
    ``existing``, or ``default``) or that the key may not read: the same 404 ``not_found``,
    whose message names only the collections the key may read, so that whether a forbidden
    collection exists is not told. Reading never creates a collection: only an admin's
    ingest does."""
    from assistant.faces.errors import ApiError
    from assistant.settings import check_collection_name

    try:
        wanted = check_collection_name(name or grant.home(default))
    except ValueError as exc:
        raise ApiError(422, "invalid_collection", str(exc)) from exc
    known = visible(grant, existing, default)
    if wanted not in known:
        listed = ", ".join(known) or "none yet"
        raise ApiError(404, "not_found", f"no collection {wanted!r} (collections: {listed})")
    return wanted


def grant(request: Request) -> KeyGrant:
    """The grant ``Guard.needs`` let ``request`` through with (a route without that check
    fails rather than reading with every grant)."""
    granted: KeyGrant = request.state.grant
    return granted


def address(request: Request) -> str:
    """The client's address (as uvicorn gives it: behind a trusted proxy, the caller's)."""
    return request.client.host if request.client else "unknown"
