"""Who may call the API, and how often: API keys with scopes, and a rate limit.

``BRIEF_API_KEYS`` lists ``key:scope`` pairs, comma-separated. An ``admin`` key may do
everything; an ``ask`` key may ask, stream and read the health (what a public widget may hold).
Without keys every caller is admin, and the server keeps to loopback unless told otherwise
(``assistant/faces/serve.py``). Every caller gets ``BRIEF_RATE_LIMIT_PER_MINUTE`` requests a
minute (a token bucket); beyond that, 429 with ``Retry-After``. The caller is the key that
matched (however the header spells it), or the client's address when no key is configured;
a failed authentication (no valid key, a sign-in to the chat) is counted against its address.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from assistant.settings import Settings

SCOPES = ("admin", "ask")
#: Callers remembered by the rate limit before idle ones are forgotten.
MAX_CALLERS = 100_000


#: The shortest key accepted: a key may sit in a public page's widget and be guessed at from
#: anywhere, so it is long enough (24 random characters, about 140 bits) not to be worth it.
MIN_KEY_CHARS = 24


def parse_keys(spec: str | None) -> dict[str, str]:
    """``"k1:admin,k2:ask"`` -> {key: scope}; a key without a scope is admin. ``ValueError``
    (the server does not start) for an unknown scope or a key shorter than ``MIN_KEY_CHARS``,
    naming the key by its place in the list, never by its text."""
    keys: dict[str, str] = {}
    for n, item in enumerate((i.strip() for i in (spec or "").split(",") if i.strip()), 1):
        key, _, scope = item.partition(":")
        scope = scope.strip() or "admin"
        if scope not in SCOPES:
            raise ValueError(f"unknown API key scope {scope!r}: use 'admin' or 'ask'")
        if len(key.strip()) < MIN_KEY_CHARS:
            raise ValueError(
                f"API key {n} of BRIEF_API_KEYS has {len(key.strip())} characters; keys must "
                f'have at least {MIN_KEY_CHARS}. Make one with: python -c "import secrets; '
                'print(secrets.token_urlsafe(24))"'
            )
        keys[key.strip()] = scope
    return keys


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
        self.keys = parse_keys(secret)
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

    def scope_of(self, authorization: str | None) -> str | None:
        """The scope an ``Authorization`` header grants; None without a valid key."""
        if self.open:
            return "admin"
        key = self._matched(authorization)
        return self.keys[key] if key is not None else None

    def admit(self, authorization: str | None, address: str) -> tuple[str, str]:
        """The scope a request's key grants and who it counts as for the rate limit: the key
        that matched, or the address when no keys are configured. Without a valid key, the
        ``ApiError`` that refuses it: 401, counted against ``address`` (429 beyond the rate),
        so that guessing keys costs what asking does."""
        if self.open:
            return "admin", f"address {address}"
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

    def needs(self, scope: str) -> Callable[..., None]:
        """A dependency that lets the request through with a key of ``scope`` (an admin key
        may do anything), counted against its caller's rate."""
        from assistant.faces.errors import ApiError

        def check(request: Request) -> None:
            granted, caller = self.admit(request.headers.get("authorization"), address(request))
            if scope == "admin" and granted != "admin":
                raise ApiError(403, "forbidden", "this key may only ask questions")
            self.take(caller)

        return check


def address(request: Request) -> str:
    """The client's address (as uvicorn gives it: behind a trusted proxy, the caller's)."""
    return request.client.host if request.client else "unknown"
