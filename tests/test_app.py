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
from tests.conftest import ROOT, free_port


def test_app_starts_and_loads_the_samples(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "BRIEF_DATA_DIR": str(data), "BRIEF_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 120
        page = None
        while time.time() < deadline and page is None:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert page is not None and page.status_code == 200
        assert "Briefing Assistant" in page.text
        # One server: the chat, the API and its docs.
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=10).status_code == 200

        titles: set[str] = set()
        while time.time() < deadline and len(titles) < 3:
            time.sleep(1)
            titles = {d.title for d in Assistant(Settings(data_dir=data)).documents()}
        assert "Dock workers at Port Calder end nine-day strike after wage deal" in titles
        assert len(titles) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)
