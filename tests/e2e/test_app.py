"""``python app.py`` serves a page at once and loads the sample documents into an empty store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ROOT, free_port, served, wait_for


def test_app_starts_and_loads_the_samples(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "BRIEF_DATA_DIR": str(data), "BRIEF_PORT": str(port)}
    log = tmp_path / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.time() + 120
        page = wait_for(
            proc,
            lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=2),
            log,
            timeout=120,
            what="the app",
        )
        assert page.status_code == 200
        assert "Briefing Assistant" in page.text
        # One server: the chat, the API and its schema.
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).status_code == 200

        titles: set[str] = set()
        while time.time() < deadline and len(titles) < 3:
            time.sleep(1)
            titles = {d.title for d in Assistant(Settings(data_dir=data)).documents()}
        assert "Dock workers at Port Calder end nine-day strike after wage deal" in titles
        assert len(titles) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_with_keys_the_chat_asks_for_an_admin_key(tmp_path: Path) -> None:
    """The chat can add and remove documents: with API keys set, only an admin key opens it."""
    from pydantic import SecretStr

    from assistant.faces.web.page import make_app

    keys = SecretStr("admin-key-0123456789abcdef:admin,ask-key-0123456789abcdef:ask")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", api_keys=keys))
    app, _ = make_app(assistant, samples=False)
    with served(assistant, app) as client:
        assert client.get("/config").status_code == 401  # the page's set-up needs a sign-in
        assert client.get("/gradio_api/info").status_code == 401
        ask_only = client.post(
            "/login", data={"username": "me", "password": "ask-key-0123456789abcdef"}
        )
        assert ask_only.status_code == 400 and client.get("/config").status_code == 401
        admin = client.post(
            "/login", data={"username": "me", "password": "admin-key-0123456789abcdef"}
        )
        assert admin.status_code == 200
        assert client.get("/config").status_code == 200


def test_with_keys_the_chats_links_open_the_viewer(tmp_path: Path) -> None:
    """With API keys, the viewer wants the token the server signs links with: the chat's
    markers, source cards and briefing markers carry it, so they open; a bare address does
    not."""
    import re

    from pydantic import SecretStr

    from assistant.faces.web.page import make_app
    from tests.conftest import ARTICLE

    keys = SecretStr("admin-key-0123456789abcdef:admin,ask-key-0123456789abcdef:ask")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", api_keys=keys))
    assert assistant.ingest([ARTICLE]).ok
    app, chat = make_app(assistant, samples=False)
    chat.ready.set()
    *_, (answer, panel) = chat.respond("Who founded Kestrel?", [], "default")
    *_, (briefing, _, _) = chat.briefing(None, "default")
    links = re.findall(r"\((/view/[^ )]+)", answer) + re.findall(r'href="(/view/[^"]+)"', panel)
    links += re.findall(r"\((/view/[^ )]+)", briefing)[:3]
    links = [link.replace("&amp;", "&") for link in links]  # the panel's are HTML-escaped
    assert len(links) >= 5 and all("&t=" in link for link in links)
    with served(assistant, app) as client:
        for link in links:
            page = client.get(link)
            assert page.status_code == 200 and '<mark id="hl">' in page.text
        bare = re.sub(r"&t=[^&#]+", "", links[0])
        assert client.get(bare).status_code == 403
