"""How long from the command to a usable page: ``python app.py`` on a fresh data folder.

Each run starts the app on an empty store (so it also ingests the bundled samples in the
background, as ``make run`` does the first time), then a headless chromium polls the page until
the question box is visible and, separately, until the first answer to an example question
arrives. Target: the page usable within 8 s of the command.

Run from the repository root: ``.venv/bin/python bench/startup.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from common import RESULTS, free_port, start_app  # first: offline settings, import path
from playwright.sync_api import sync_playwright

from tests.browser import launch

os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
TARGET_S = 8.0


def one_run(browser: object) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        started = time.perf_counter()
        proc = start_app(Path(tmp) / "data", port, Path(tmp))
        try:
            while True:
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            http_s = time.perf_counter() - started
            page = browser.new_page()  # type: ignore[attr-defined]
            page.goto(url)
            page.wait_for_selector("#ba-question textarea", state="visible", timeout=60_000)
            usable_s = time.perf_counter() - started
            page.fill("#ba-question textarea", "How long did the Port Calder strike last?")
            page.keyboard.press("Enter")
            answer = "#ba-chat [data-testid='bot'] a[href*='/view/']"
            page.wait_for_selector(answer, timeout=120_000)
            answered_s = time.perf_counter() - started
            page.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"http_200_s": http_s, "page_usable_s": usable_s, "first_answer_s": answered_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = launch(p)
        runs = [one_run(browser) for _ in range(args.runs)]
        browser.close()
    summary = {
        key: {"median": statistics.median(r[key] for r in runs), "max": max(r[key] for r in runs)}
        for key in runs[0]
    }
    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "summary": summary,
        "target": {
            f"page usable <= {TARGET_S:.0f} s (worst run)": summary["page_usable_s"]["max"]
            <= TARGET_S
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
