"""The viewer's links (``assistant/faces/view_links.py``), and the excerpt that an ask
key's link opens."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.faces.render import viewer_page
from assistant.faces.view_links import ViewLinks, load_secret
from assistant.index.registry import DocumentRecord
from assistant.settings import Settings

KEYS = "admin-key-unit-0123456789ab:admin,ask-key-unit-0123456789abcd:ask"


def test_the_secret_is_made_once_with_mode_0600_whoever_asks_first(tmp_path: Path) -> None:
    path = tmp_path / "data" / "view.key"
    got: list[bytes] = []
    threads = [threading.Thread(target=lambda: got.append(load_secret(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and len(got[0]) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["view.key"]  # no partial files left


def test_a_damaged_secret_is_an_error_not_an_empty_key(tmp_path: Path) -> None:
    path = tmp_path / "view.key"
    path.write_text("")
    with pytest.raises(ValueError, match="does not hold a secret"):
        load_secret(path)


def test_links_are_bound_to_what_they_open_and_expire(tmp_path: Path) -> None:
    links = ViewLinks(Settings(data_dir=tmp_path, api_keys=KEYS))
    part = links.signer(paragraph=True)("default", "d1", 10, 20)
    assert part is not None and part["p"] == "1"
    e, t = int(part["e"]), part["t"]
    assert links.allows("default", "d1", 10, 20, e, True, t) is None
    assert links.allows("default", "d1", 0, 20, e, True, t) == "invalid"  # widened span
    assert links.allows("default", "d1", 10, 20, e, False, t) == "invalid"  # whole document
    assert links.allows("other", "d1", 10, 20, e, True, t) == "invalid"
    assert links.allows("default", "d1", 10, 20, e + 1, True, t) == "invalid"
    links.ttl_s = -1
    old = links.signer()("default", "d1", 0, 0)
    assert old is not None
    assert links.allows("default", "d1", 0, 0, int(old["e"]), False, old["t"]) == "expired"


def test_without_keys_nothing_is_signed_and_everything_opens(tmp_path: Path) -> None:
    links = ViewLinks(Settings(data_dir=tmp_path))
    assert links.signer()("default", "d1", 0, 0) is None
    assert links.allows("default", "d1", 0, 0, 0, False, None) is None
    assert not (tmp_path / "view.key").exists()


def test_an_excerpt_is_the_paragraph_of_the_span() -> None:
    text = "First paragraph, not cited.\n\nThe cited sentence is here. More of it.\n\nLast one."
    record = DocumentRecord(
        doc_id="d1",
        collection="default",
        source="memo.txt",
        title="Memo",
        date=None,
        kind="text",
        content_hash="h",
        text=text,
        chunk_count=1,
        token_count=20,
        size_bytes=len(text),
    )
    start = text.index("cited sentence")
    page = viewer_page(record, start, start + 14, paragraph=True)
    assert "The " in page and "More of it." in page
    assert "First paragraph" not in page and "Last one" not in page
    whole = viewer_page(record, start, start + 14)
    assert "First paragraph" in whole and "Last one" in whole
