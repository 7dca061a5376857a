"""Links to the document viewer (``/view/<collection>/<doc_id>``): signed, expiring, and for an
ask key opening only the cited passage's paragraph.

With API keys set, the viewer shows a document only to a link the server made: an answer's
citations carry one, so whoever was given an answer can open what it cites, and nobody can
read a document by guessing its id. A link carries

- ``e``, when it expires (Unix seconds; ``BRIEF_VIEW_LINK_HOURS`` after it was made), and
- ``t``, an HMAC-SHA256 of the collection, the document, the expiry and what it opens, under a
  random secret kept in the data directory (``view.key``, mode 0600, made on first need, so
  every worker of the server reads the same one; delete it to retire every link). The secret
  is not derived from the keys: an ask key is public in a widget's page, so a secret made from
  the keys could be rebuilt by anyone where it is the only key.
- ``p=1`` for a link made for an ask key: it opens the paragraph around the cited span only
  (``start``/``end`` are then signed too), not the whole document. An admin key's links, and
  the chat's (signed in with an admin key), open the whole document.

Without keys (a server kept to loopback) there is nothing to sign and the viewer needs no token.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.settings import Settings

#: ``sign(collection, doc_id, start, end)``: the query parameters a link to that span carries
#: (``e``, ``t``, and ``p`` for a paragraph), or None when the server has no keys.
Signer = Callable[[str, str, int, int], dict[str, str] | None]

#: Length of a link's token (base64 characters of an HMAC-SHA256: 128 bits).
TOKEN_CHARS = 22
#: The secret's file in the data directory.
SECRET_FILE = "view.key"


class ViewLinks:
    """Makes and checks the viewer's links of one server (see the module)."""

    def __init__(self, settings: Settings) -> None:
        from assistant.faces.access import parse_keys

        spec = settings.api_keys.get_secret_value() if settings.api_keys else None
        #: False without API keys: links carry nothing and the viewer opens to anyone.
        self.on = bool(parse_keys(spec))
        self.secret_path = Path(settings.data_dir) / SECRET_FILE
        self.ttl_s = settings.view_link_hours * 3600
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def signer(self, paragraph: bool = False) -> Signer:
        """The signer of links that open the whole document, or with ``paragraph`` (what an
        ask key is given) only the paragraph around the span."""

        def sign(collection: str, doc_id: str, start: int, end: int) -> dict[str, str] | None:
            if not self.on:
                return None
            expires = int(time.time() + self.ttl_s)
            params = {"e": str(expires)}
            if paragraph:
                params["p"] = "1"
            params["t"] = self._token(collection, doc_id, expires, _opens(paragraph, start, end))
            return params

        return sign

    def allows(
        self,
        collection: str,
        doc_id: str,
        start: int,
        end: int,
        expires: int,
        paragraph: bool,
        token: str | None,
    ) -> str | None:
        """Why the viewer must refuse this request ("expired", "invalid"), or None when it may
        show it (always, without keys)."""
        if not self.on:
            return None
        expected = self._token(collection, doc_id, expires, _opens(paragraph, start, end))
        given = (token or "")[:64].encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode(), given):
            return "invalid"
        if expires < time.time():
            return "expired"
        return None

    def _token(self, collection: str, doc_id: str, expires: int, opens: str) -> str:
        message = "\0".join(("view-2", collection, doc_id, str(expires), opens)).encode()
        mac = hmac.new(self._secret(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii")[:TOKEN_CHARS]

    def _secret(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = load_secret(self.secret_path)
            return self._key


def _opens(paragraph: bool, start: int, end: int) -> str:
    """What a link opens, as its token covers it: a document, or one span's paragraph."""
    return f"paragraph {start} {end}" if paragraph else "document"


def load_secret(path: Path) -> bytes:
    """The secret in ``path``, made on first need: 32 random bytes (hex), mode 0600.

    Written to a file of its own first and then linked into place, which fails if another
    process got there first: every process ends up with the one secret, never half of one.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (UnicodeDecodeError, ValueError):
        secret = b""
    if len(secret) < 16:
        raise ValueError(f"{path} does not hold a secret: delete it and a new one is made")
    return secret


def view_signer(settings: Settings, paragraph: bool = False) -> Signer:
    """The signer of this server's viewer links (``ViewLinks.signer``)."""
    return ViewLinks(settings).signer(paragraph)
