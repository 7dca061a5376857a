"""The web chat's "Brief me" in a real browser (chromium driven by Playwright), over a
store holding the test article and the bundled samples: the briefing lands in the chat with
clickable markers, its quotes fill the Sources panel, and its Markdown can be downloaded."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

from assistant.core import Assistant
from assistant.settings import Settings
from tests.conftest import ARTICLE, ROOT
from tests.e2e.test_web import browser, opened, running_app, shot  # noqa: F401 - browser: fixture

SAMPLES = ROOT / "assistant" / "samples"
BRIEFING_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("briefing-web")
    assert Assistant(Settings(data_dir=root / "data")).ingest([SAMPLES, ARTICLE]).ok
    with running_app(root) as url:
        yield url


@pytest.fixture
def page(browser, app_server: str) -> Iterator[Page]:  # noqa: F811 - the imported fixture
    with opened(browser, app_server) as pg:
        yield pg


def briefing_message(page: Page, after: int, heading: str = "Briefing: ") -> Locator:
    """The bot message that holds the finished briefing (or what was said instead)."""
    bots = page.locator("#ba-chat [data-testid='bot']")
    deadline = time.time() + BRIEFING_TIMEOUT_S
    while time.time() < deadline:
        if bots.count() > after:
            text = bots.last.inner_text()
            if heading in text or "no documents" in text or "went wrong" in text:
                return bots.last
        page.wait_for_timeout(100)
    raise AssertionError(f"no briefing: {bots.last.inner_text() if bots.count() else ''}")


def brief_me(page: Page, focus: str = "") -> Locator:
    before = page.locator("#ba-chat [data-testid='bot']").count()
    page.fill("#ba-focus textarea, #ba-focus input", focus)
    page.click("#ba-brief")
    return briefing_message(page, before)


def test_brief_me_puts_a_cited_briefing_in_the_chat(page: Page, tmp_path: Path) -> None:
    message = brief_me(page)
    headings = message.locator("h2").all_inner_texts()
    assert {"Key points", "Who said what", "Key figures", "Timeline"} <= set(headings)
    assert message.locator("h1").inner_text() == "Briefing: default"
    assert page.locator("#ba-chat [data-testid='user']").last.inner_text() == "Brief me"
    lindqvist = message.locator("li", has_text="Tobias Lindqvist").first
    assert "Uppsala University" in lindqvist.inner_text()

    # Markers are links to the viewer, like an answer's; the panel lists every quote.
    markers = message.locator("a[href*='/view/']")
    assert markers.count() >= 10 and markers.first.inner_text() == "[1]"
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", message.inner_text())}
    cards = page.locator("#ba-sources .ba-source")
    assert cards.count() >= max(numbers)
    assert "Port Calder" in page.locator("#ba-sources").inner_text()
    page.wait_for_timeout(1500)  # the chat shows the briefing's beginning
    assert message.locator("h1").is_visible()
    shot(page, "briefing-web")

    # Tobias Lindqvist's marker opens his words in the side panel.
    marker = lindqvist.locator("a[href*='/view/']").first
    n = int(marker.inner_text().strip("[]"))
    card = page.locator(f"#ba-source-{n}")
    quote = card.locator("mark").inner_text()
    assert "Tobias Lindqvist" in quote
    marker.click()
    page.locator("#ba-viewer.open").wait_for(timeout=10_000)
    highlighted = page.frame_locator("#ba-viewer iframe").locator("mark#hl")
    highlighted.wait_for(timeout=10_000)
    assert highlighted.inner_text() == quote
    shot(page, "briefing-web-viewer")
    page.keyboard.press("Escape")

    # The export: the same briefing as Markdown, with plain markers and its sources.
    with page.expect_download() as download:
        page.click("#ba-brief-download")
    assert download.value.suggested_filename == "briefing-default.md"
    saved = tmp_path / "briefing.md"
    download.value.save_as(saved)
    markdown = saved.read_text(encoding="utf-8")
    assert markdown.startswith("# Briefing: default\n")
    assert "## Who said what" in markdown and "**Tobias Lindqvist**" in markdown
    assert "\n## Sources\n\n1. " in markdown and "/view/" not in markdown

    # The conversation goes on: a question after the briefing is answered below it.
    page.fill("#ba-question textarea", "Who founded Kestrel?")
    page.keyboard.press("Enter")
    bots = page.locator("#ba-chat [data-testid='bot']")
    page.wait_for_function(
        "() => { const b = document.querySelectorAll(\"#ba-chat [data-testid='bot']\");"
        " return b.length === 2 && b[1].innerText.includes('Priya Raman'); }",
        timeout=60_000,
    )
    assert "Briefing: default" in bots.first.inner_text()


def test_a_focus_narrows_the_briefing_typed_or_in_the_box(page: Page) -> None:
    message = brief_me(page, focus="export rules")
    assert message.locator("h1").inner_text() == "Briefing: default — export rules"
    assert page.locator("#ba-chat [data-testid='user']").last.inner_text() == (
        "Brief me on “export rules”"
    )
    text = message.inner_text()
    assert "Tobias Lindqvist" in text and "Port Calder" not in text

    # Typed into the chat, the same request gives the same briefing.
    before = page.locator("#ba-chat [data-testid='bot']").count()
    page.fill("#ba-question textarea", "Brief me on export rules")
    page.keyboard.press("Enter")
    typed = briefing_message(page, before, heading="export rules")
    assert typed.inner_text() == message.inner_text()


def test_an_empty_collection_says_there_is_nothing_to_brief_on(page: Page) -> None:
    page.locator("button[role='tab']:has-text('Documents')").first.click()
    page.fill("#ba-new-collection textarea, #ba-new-collection input", "empty-desk")
    page.click("#ba-create")
    page.wait_for_function(
        "() => document.querySelector('#ba-collection input').value === 'empty-desk'"
    )
    message = brief_me(page)
    assert "empty-desk has no documents yet" in message.inner_text()
    assert message.locator("a").count() == 0
    assert page.locator("#ba-brief-download").is_hidden()
