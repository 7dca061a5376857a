"""Settings come from BRIEF_* variables and .env, typed and validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("BRIEF_DATA_DIR", "BRIEF_COLLECTION", "BRIEF_CHROMA_HOST", "BRIEF_CHROMA_PORT"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.data_dir == Path("./brief-data")
    assert s.collection == "default"
    assert s.chroma_host is None and not s.uses_chroma_server
    assert s.registry_path == Path("./brief-data/documents.sqlite")


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BRIEF_COLLECTION=from-dotenv\nBRIEF_CHROMA_PORT=9001\n")
    monkeypatch.setenv("BRIEF_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("BRIEF_CHROMA_HOST", "chroma.internal")
    s = Settings()
    assert s.data_dir == tmp_path / "elsewhere"
    assert s.collection == "from-dotenv"
    assert s.chroma_host == "chroma.internal" and s.chroma_port == 9001 and s.uses_chroma_server


@pytest.mark.parametrize("bad", ["", "has space", "../up", "x" * 80, "-lead", "trail-"])
def test_bad_collection_names_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(collection=bad)


def test_every_field_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"


def test_api_keys_carry_collections() -> None:
    """Keys without '@' keep their old meaning (admin: every collection; ask: the default
    collection only, whatever BRIEF_COLLECTION names); an ask key's '@a+b' names its own, the
    first being the one a request that names none gets (issue 24)."""
    from assistant.faces.access import Guard
    from assistant.settings import KeyGrant, parse_api_keys

    admin, plain, bound = "a" * 24, "p" * 24, "b" * 24
    spec = f" {admin} , {plain}:ask , {bound}:ask@widget + faq+widget"
    keys = parse_api_keys(spec, default="news")
    assert keys == {
        admin: KeyGrant("admin", None),
        plain: KeyGrant("ask", ("news",)),
        bound: KeyGrant("ask", ("widget", "faq")),
    }
    assert keys[admin].reads("anything") and keys[admin].home("news") == "news"
    assert keys[plain].reads("news") and not keys[plain].reads("widget")
    assert keys[bound].home("news") == "widget" and not keys[bound].reads("news")
    guard = Guard(Settings(api_keys=spec, collection="news"))
    assert guard.grant_of(f"Bearer {plain}") == KeyGrant("ask", ("news",))
    assert guard.scope_of(f"bearer  {bound} ") == "ask" and guard.grant_of("Bearer x") is None
