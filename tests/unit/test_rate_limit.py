"""The API's rate limit (``assistant/faces/access.py``): what a caller who asks too often is
told.

A fake clock stands in for ``time.monotonic`` so that a minute passes in no time.
"""

from __future__ import annotations

import pytest
from starlette.requests import Request

from assistant.faces import access
from assistant.faces.access import Guard, RateLimit
from assistant.faces.errors import ApiError
from assistant.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(access.time, "monotonic", c)
    return c


def test_the_request_past_the_limit_is_refused_with_the_wait(clock: Clock) -> None:
    limit = RateLimit(per_minute=6)
    assert [limit.take("alice") for _ in range(6)] == [0.0] * 6
    # One request comes back every 10 s (6 a minute): the 7th waits the full 10 s.
    assert limit.take("alice") == pytest.approx(10.0)
    clock.now += 4
    assert limit.take("alice") == pytest.approx(6.0)
    clock.now += 6
    assert limit.take("alice") == 0.0
    assert limit.take("alice") == pytest.approx(10.0)


def test_waiting_a_minute_gives_back_the_whole_allowance_and_no_more(clock: Clock) -> None:
    limit = RateLimit(per_minute=3)
    for _ in range(3):
        limit.take("alice")
    clock.now += 3600  # an hour idle banks no more than one minute's worth
    assert [limit.take("alice") for _ in range(3)] == [0.0] * 3
    assert limit.take("alice") > 0


def test_refused_requests_do_not_lengthen_the_wait(clock: Clock) -> None:
    limit = RateLimit(per_minute=60)
    for _ in range(60):
        limit.take("alice")
    waits = [limit.take("alice") for _ in range(20)]  # hammering while refused
    assert waits == [pytest.approx(1.0)] * 20
    clock.now += 1.0
    assert limit.take("alice") == 0.0


def test_one_callers_flood_does_not_limit_another(clock: Clock) -> None:
    limit = RateLimit(per_minute=2)
    limit.take("alice"), limit.take("alice")
    assert limit.take("alice") > 0
    assert limit.take("bob") == 0.0


def test_zero_means_no_limit(clock: Clock) -> None:
    limit = RateLimit(per_minute=0)
    assert all(limit.take("alice") == 0.0 for _ in range(1000))


def request(authorization: str | None = None, host: str = "203.0.113.7") -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return Request({"type": "http", "headers": headers, "client": (host, 40000)})


def test_the_api_answers_429_with_retry_after(clock: Clock) -> None:
    check = Guard(Settings(rate_limit_per_minute=2, api_keys=None)).needs("ask")
    check(request())
    check(request())
    with pytest.raises(ApiError) as refused:
        check(request())
    assert refused.value.status == 429 and refused.value.code == "rate_limited"
    assert refused.value.headers == {"Retry-After": "30"}
    assert "try again in 30 s" in refused.value.message
    # Another address is a different caller.
    check(request(host="198.51.100.2"))


def test_with_keys_each_key_has_its_own_allowance(clock: Clock) -> None:
    first, second = "first-key-0123456789abcdef", "second-key-0123456789abcdef"
    guard = Guard(Settings(rate_limit_per_minute=1, api_keys=f"{first}:ask,{second}:ask"))
    check = guard.needs("ask")
    # Both keys come from the same address (one office behind one gateway).
    check(request(f"Bearer {first}"))
    with pytest.raises(ApiError) as refused:
        check(request(f"Bearer {first}"))
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "60"}
    check(request(f"Bearer {second}"))
