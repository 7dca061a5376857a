"""The route policy's reading of ``Host`` and ``Origin`` headers, and ``BRIEF_ALLOWED_HOSTS``
(the whole policy, against a real server: ``tests/e2e/test_route_policy.py``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assistant.faces.http.policy import LOOPBACK_HOSTS, answered_hosts, host_allowed, own_origin
from assistant.settings import Settings

NAMES = LOOPBACK_HOSTS | {"briefing.lan", "10.0.0.7:8443"}


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:7860", "localhost", "LocalHost.:5", "[::1]:9", "[::1]", "localhost:",
     "briefing.lan", "briefing.lan:1", "10.0.0.7:8443"],
)  # fmt: skip
def test_names_answered(host: str) -> None:
    assert host_allowed(host, NAMES)


@pytest.mark.parametrize(
    "host",
    ["", "attacker.example:7860", "127.0.0.1.attacker.example", "localhost.attacker.example:1",
     "[::1", "[::1]x", "localhost:1:2", "localhost:x", "10.0.0.7", "10.0.0.7:80",
     "briefing.lan.attacker.example"],
)  # fmt: skip
def test_names_refused(host: str) -> None:
    assert not host_allowed(host, NAMES)


def test_own_origin() -> None:
    names = frozenset({"briefing.lan", "10.0.0.7:8443"})
    assert own_origin("http://127.0.0.1:7860", "127.0.0.1:7860")
    assert own_origin("https://briefing.example.org", "briefing.example.org:443")
    assert own_origin("http://briefing.example.org:80", "briefing.example.org")
    assert not own_origin("http://127.0.0.1:7861", "127.0.0.1:7860")  # another port: a site
    assert not own_origin("https://127.0.0.1:7860", "127.0.0.1:7860:1")
    assert not own_origin("null", "127.0.0.1:7860")
    assert not own_origin("file://", "")
    # A name of BRIEF_ALLOWED_HOSTS is the server's own, whatever Host a proxy passes on.
    assert own_origin("https://briefing.lan", "127.0.0.1:7860", names)
    assert own_origin("https://10.0.0.7:8443", "127.0.0.1:7860", names)
    assert not own_origin("https://10.0.0.7", "127.0.0.1:7860", names)
    assert not own_origin("https://briefing.lan.evil.example", "127.0.0.1:7860", names)
    # Loopback names are not: another program on this machine serves other pages there.
    assert not own_origin("http://localhost:3000", "127.0.0.1:7860", LOOPBACK_HOSTS)


def test_allowed_hosts_setting(tmp_path: object) -> None:
    s = Settings(allowed_hosts=" Briefing.Example.org. , 10.0.0.7:8443,[::1]:9,,")
    assert s.allowed_hosts == ("briefing.example.org", "10.0.0.7:8443", "[::1]:9")
    for bad in ("https://briefing.example.org", "*.example.org", "host/path", "a b", "h:port"):
        with pytest.raises(ValidationError, match="not a host name"):
            Settings(allowed_hosts=bad)
    # Without keys the names are always checked; with keys only once some are given.
    assert answered_hosts(Settings(), keyed=False) == LOOPBACK_HOSTS
    assert answered_hosts(Settings(), keyed=True) is None
    assert answered_hosts(s, keyed=True) == LOOPBACK_HOSTS | set(s.allowed_hosts)
