"""The web chat in a real browser: the system's chromium (else Playwright's own) via Playwright.

One app process (``python app.py``) runs on a free port over a temporary store holding the test
article; every test drives the page the way a person would. Any request the page makes to a
host other than loopback is refused and fails the test. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, sync_playwright

from assistant.core import Assistant
from assistant.settings import Settings
from tests.browser import launch
from tests.conftest import ARTICLE, ROOT, free_port, stop, wait_for
from tests.documents import make_pdf
from tests.fake_llm import FakeChatServer

ARTIFACTS = ROOT / "tests" / "artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ANSWER_TIMEOUT_MS = 60_000


@contextlib.contextmanager
def running_app(root: Path, **env: str) -> Iterator[str]:
    """``python app.py`` over a store with the test article; yields its base URL."""
    data = root / "data"
    report = Assistant(Settings(data_dir=data)).ingest([ARTICLE])
    assert report.ok
    port = free_port()
    log = open(root / "app.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=root,
        env={**os.environ, "BRIEF_DATA_DIR": str(data), "BRIEF_PORT": str(port), **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            proc,
            lambda: httpx.get(url + "/", timeout=2).status_code == 200,
            root / "app.log",
            timeout=90,
            what="the app",
        )
        yield url
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with the offline answerer (allowed to fetch the tests' pages on loopback)."""
    with running_app(tmp_path_factory.mktemp("web"), BRIEF_ALLOW_PRIVATE_URLS="true") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@contextlib.contextmanager
def opened(browser: Browser, url: str) -> Iterator[Page]:
    """A fresh page at 1280x800 that refuses (and records) any non-loopback request."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    outside: list[str] = []

    def guard(route: Route) -> None:
        request_url = route.request.url
        host = urlparse(request_url).hostname
        if request_url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            outside.append(request_url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.goto(url + "/")
    pg.wait_for_selector("#ba-question textarea", timeout=30_000)
    yield pg
    context.close()
    assert outside == [], f"the page called out: {outside}"


@pytest.fixture
def page(browser: Browser, app_server: str) -> Iterator[Page]:
    with opened(browser, app_server) as pg:
        yield pg


def shot(page: Page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


#: What a finished message holds: a marker, the not-found reply, or an error.
FINISHED = r"\[\d+\]|documents don.t say|went wrong|limit is"


def finished_answer(page: Page, after: int = 0, pattern: str = FINISHED) -> Locator:
    """The last bot message, once there are more than ``after`` and it matches ``pattern``."""
    bots = page.locator("#ba-chat [data-testid='bot']")
    deadline = time.time() + ANSWER_TIMEOUT_MS / 1000
    while time.time() < deadline:
        if bots.count() > after and re.search(pattern, bots.last.inner_text()):
            return bots.last
        page.wait_for_timeout(100)
    raise AssertionError("no answer")


def ask(page: Page, question: str) -> Locator:
    """Type a question, send it, and return the bot's finished message element."""
    before = page.locator("#ba-chat [data-testid='bot']").count()
    page.fill("#ba-question textarea", question)
    page.keyboard.press("Enter")
    answer = finished_answer(page, after=before)
    # The sources panel is filled by the final event of the stream.
    page.wait_for_timeout(300)
    return answer


def test_factual_answer_cites_the_source_and_the_marker_opens_it(page: Page) -> None:
    answer = ask(page, "Who founded Kestrel?")
    text = answer.inner_text()
    assert "Priya Raman" in text
    marker = answer.locator("a[href*='/view/']").first
    assert marker.inner_text() == "[1]"

    sources = page.locator("#ba-sources")
    assert "Kestrel" in sources.locator(".ba-source").first.inner_text()
    quote = sources.locator(".ba-source mark").first.inner_text()
    assert quote.strip() and quote.strip() in text.replace("\n", " ")
    shot(page, "answer")

    marker.click()
    viewer = page.locator("#ba-viewer.open")
    viewer.wait_for(timeout=10_000)
    highlighted = page.frame_locator("#ba-viewer iframe").locator("mark#hl")
    highlighted.wait_for(timeout=10_000)
    assert highlighted.inner_text() == quote
    shot(page, "viewer")
    page.keyboard.press("Escape")
    assert page.locator("#ba-viewer.open").count() == 0

    # A source card opens the same place.
    sources.locator(".ba-open").first.click()
    highlighted.wait_for(timeout=10_000)
    assert highlighted.inner_text() == quote


def test_follow_up_question_uses_the_conversation(page: Page) -> None:
    ask(page, "Who founded Kestrel?")
    follow = ask(page, "What did she acknowledge?")
    text = follow.inner_text()
    assert "[1]" in text and "acknowledg" in text.lower()


def test_unanswerable_question_says_so_and_lists_related_passages(page: Page) -> None:
    answer = ask(page, "What is the boiling point of liquid nitrogen?")
    text = answer.inner_text()
    assert "The documents don't say." in text
    assert answer.locator("a[href*='/view/']").count() == 0
    panel = page.locator("#ba-sources .ba-abstained")
    assert "Not found in your documents" in panel.inner_text()
    assert panel.locator(".ba-related").count() >= 1
    shot(page, "abstained")


def open_tab(page: Page, name: str) -> None:
    page.locator(f"button[role='tab']:has-text('{name}')").first.click()


def wait_for_documents(page: Page, text: str, listed: bool = True) -> None:
    """Wait until the documents table does (or no longer does) show ``text``."""
    page.wait_for_function(
        "([text, listed]) => document.querySelector('#ba-documents').innerText.includes(text)"
        " === listed",
        arg=[text, listed],
    )


def upload(page: Page, paths: list[Path]) -> str:
    open_tab(page, "Documents")
    # Chosen (or dropped) files are added at once: no further click.
    page.set_input_files("#ba-upload input[type='file']", [str(p) for p in paths])
    results = page.locator("#ba-results")
    deadline = time.time() + 90
    while time.time() < deadline:
        text = results.inner_text()
        if all(p.name in text for p in paths):
            return text
        page.wait_for_timeout(200)
    raise AssertionError(f"upload did not finish: {results.inner_text()}")


def test_upload_several_files_then_ask_about_them(page: Page, tmp_path: Path) -> None:
    memo = tmp_path / "ferry-memo.md"
    memo.write_text(
        "# Memo: Harwick ferry timetable\n\n"
        "From 4 May the Harwick ferry will run every 40 minutes instead of every hour. "
        "The change was approved by the transport board on 12 March after a public "
        "consultation drew 2,300 responses.\n"
    )
    report = make_pdf(
        tmp_path / "bridge-report.pdf",
        [
            [
                "Inspection report: Caldew footbridge",
                "Inspectors found corrosion on four of the twelve cable anchors.",
            ],
            ["The footbridge will close for repairs from 2 June for about six weeks."],
        ],
        title="Inspection report: Caldew footbridge",
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    text = upload(page, [memo, report, empty])
    assert text.count("ingested") == 2 and "failed" in text  # one line per file, with reasons
    assert "the file is empty" in text
    table = page.locator("#ba-documents").inner_text()
    assert "Harwick ferry timetable" in table and "Caldew footbridge" in table
    shot(page, "upload")

    open_tab(page, "Sources")
    answer = ask(page, "How often will the Harwick ferry run from 4 May?")
    assert "every 40 minutes" in answer.inner_text()
    assert "Harwick" in page.locator("#ba-sources .ba-source").first.inner_text()

    answer = ask(page, "When will the Caldew footbridge close for repairs?")
    assert "2 June" in answer.inner_text()
    card = page.locator("#ba-sources .ba-source").first
    assert "page 2" in card.inner_text()
    answer.locator("a[href*='/view/']").first.click()
    highlighted = page.frame_locator("#ba-viewer iframe").locator("mark#hl")
    highlighted.wait_for(timeout=10_000)
    assert "2 June" in highlighted.inner_text()
    page.keyboard.press("Escape")

    # Removing a document takes it out of the list and out of the answers.
    open_tab(page, "Documents")
    page.click("#ba-doomed input")
    page.get_by_role("option", name=re.compile("Harwick ferry timetable")).click()
    page.click("#ba-remove")
    wait_for_documents(page, "Harwick", listed=False)
    assert "Removed" in page.locator("#ba-status").inner_text()
    open_tab(page, "Sources")
    answer = ask(page, "How often will the Harwick ferry run from 4 May?")
    assert "every 40 minutes" not in answer.inner_text()


def test_add_a_web_page_by_its_address(page: Page, web_server: tuple[str, Path]) -> None:
    base, root = web_server
    (root / "library.html").write_text(
        "<html><head><title>Library opening hours</title></head><body>"
        "<nav>Home | News | Contact</nav><article><h1>Library opening hours</h1>"
        "<p>From 1 October the Eastgate library will open on Sundays from 10:00 to 16:00, "
        "the first Sunday opening in its history.</p></article>"
        "<footer>Cookie settings</footer></body></html>"
    )
    open_tab(page, "Documents")
    page.fill("#ba-url textarea, #ba-url input", f"{base}/library.html")
    page.click("#ba-add")
    wait_for_documents(page, "Library opening")
    assert "ingested" in page.locator("#ba-results").inner_text()
    open_tab(page, "Sources")
    answer = ask(page, "When will the Eastgate library open on Sundays?")
    assert "10:00 to 16:00" in answer.inner_text()


def test_document_text_is_shown_as_text_never_run(page: Page, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.html"
    hostile.write_text(
        "<html><head><title>Quarry noise complaints</title></head><body><article>"
        "<h1>Quarry noise complaints</h1>"
        "<p>The Dunmore quarry received 37 noise complaints in April, the council said. "
        "Residents quoted the code &lt;script&gt;window.__owned=1&lt;/script&gt; and "
        "&lt;img src=x onerror=window.__owned=2&gt; in their letters.</p>"
        "<script>window.__owned = 3</script></article></body></html>"
    )
    upload(page, [hostile])
    open_tab(page, "Sources")
    answer = ask(page, "What code did residents quote in their letters about the quarry?")
    assert page.evaluate("window.__owned") is None
    sources_text = page.locator("#ba-sources").inner_text()
    assert "<script>window.__owned=1</script>" in sources_text
    assert "<img src=x onerror=window.__owned=2>" in sources_text
    assert "<script>" in answer.inner_text()
    answer.locator("a[href*='/view/']").first.click()
    frame = page.frame_locator("#ba-viewer iframe")
    frame.locator("mark#hl").wait_for(timeout=10_000)
    assert "<script>" in frame.locator("main").inner_text()
    assert page.evaluate("window.__owned") is None
    shot(page, "hostile")


def test_collections_are_created_and_switched(page: Page, tmp_path: Path) -> None:
    open_tab(page, "Documents")
    page.fill("#ba-new-collection textarea, #ba-new-collection input", "budget-2027")
    page.click("#ba-create")
    page.wait_for_function(
        "() => document.querySelector('#ba-collection input').value === 'budget-2027'"
    )
    assert "budget-2027" in page.locator("#ba-status").inner_text()
    note = tmp_path / "budget-note.txt"
    note.write_text("The 2027 budget sets aside 14 million for flood defences along the Tay.\n")
    upload(page, [note])
    rows = page.locator("#ba-documents").inner_text()
    assert "budget-note" in rows and "Kestrel" not in rows
    answer = ask(page, "How much does the 2027 budget set aside for flood defences?")
    assert "14 million" in answer.inner_text()

    # Back to the default collection: its documents, not the new one's.
    page.click("#ba-collection input")
    page.get_by_role("option", name="default", exact=True).click()
    wait_for_documents(page, "Kestrel")
    assert "budget-note" not in page.locator("#ba-documents").inner_text()


def test_retry_and_clear(page: Page) -> None:
    first = ask(page, "Where is Kestrel based?").inner_text()
    page.locator("#ba-chat button[aria-label='Retry']").last.click()
    page.wait_for_timeout(300)
    again = finished_answer(page, pattern=r"\[\d+\]|documents don.t say")
    assert again.inner_text() == first
    page.locator("#ba-chat button[aria-label='Clear']").click()
    page.wait_for_timeout(500)
    assert page.locator("#ba-chat [data-testid='bot']").count() == 0


def test_layout_at_desktop_and_phone_width(page: Page) -> None:
    ask(page, "Where is Kestrel based?")
    shot(page, "desktop-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    # Nothing wider than the phone's screen: no sideways scrolling.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"page is {width}px wide at a 390px viewport"
    assert page.locator("#ba-question textarea").is_visible()
    shot(page, "phone-390", full_page=True)


def test_answers_from_a_chat_model_stream_checked_sentences(
    browser: Browser, tmp_path: Path
) -> None:
    """With BRIEF_LLM set, the model's answer streams into the page a sentence at a time, each
    only once verified: a sentence no passage supports never appears, not even for a moment."""
    reply = (
        "KX1 was reportedly developed for just $18.5 million {cite:$18.5 million}. "
        "It was trained on the moon by 40,000 astronauts [2]. See also [9]."
    )
    long_reply = (
        "Kestrel was founded by Priya Raman {cite:Priya Raman}. "
        + "Word " * 100
        + ". KX1 was reportedly developed for just $18.5 million {cite:$18.5 million}."
    )
    with (
        FakeChatServer(
            # First: the second question's prompt also holds the first one, as history.
            [("Tell me everything", long_reply), ("How much did KX1 cost?", reply)],
            delay=0.05,
        ) as model,
        running_app(
            tmp_path,
            BRIEF_LLM="fake-model",
            BRIEF_LLM_BASE_URL=model.url,
            BRIEF_LLM_API_KEY="test-key",
        ) as url,
        opened(browser, url) as pg,
    ):
        pg.fill("#ba-question textarea", "How much did KX1 cost?")
        pg.keyboard.press("Enter")
        bots = pg.locator("#ba-chat [data-testid='bot']")
        seen: list[str] = []
        deadline = time.time() + ANSWER_TIMEOUT_MS / 1000
        while time.time() < deadline:
            text = bots.last.inner_text() if bots.count() else ""
            if text and (not seen or text != seen[-1]):
                seen.append(text)
            if "Answer:" in text:  # the finished answer leads with its short answer
                break
            pg.wait_for_timeout(50)
        final = seen[-1]
        assert "Answer: $18.5 million" in final
        assert "$18.5 million. [1]" in final
        # shown while streaming, before the finished answer: the verified sentence, whole
        assert any("$18.5 million. [1]" in t and "Answer:" not in t for t in seen), (
            f"the answer did not stream: {seen}"
        )
        for text in seen:  # never, at any moment
            assert "astronauts" not in text and "[9]" not in text and "See also" not in text
        assert pg.locator("#ba-sources .ba-source").count() >= 1
        shot(pg, "chat-model")

        # Stop: the answer stops where it is; the model's later words never arrive.
        pg.fill("#ba-question textarea", "Tell me everything about Kestrel")
        pg.keyboard.press("Enter")
        stop = pg.locator("#ba-question button:has-text('Stop')")
        stop.wait_for(timeout=30_000)
        pg.wait_for_function(
            "() => { const b = document.querySelectorAll(\"#ba-chat [data-testid='bot']\");"
            " return b.length >= 2 && b[b.length - 1].innerText.includes('Priya Raman'); }"
        )
        stop.click()
        pg.wait_for_timeout(500)
        stopped = bots.last.inner_text()
        # the model would have finished within 7 s, and the page then shown the finished
        # answer (its short answer, its sources): stopped, it stays as it was
        pg.wait_for_timeout(8000)
        assert bots.last.inner_text() == stopped
        assert "Priya Raman" in stopped and "Word" not in stopped
        assert "18.5 million" not in bots.last.inner_text()  # the last sentence never came


def test_the_short_answer_leads_the_cited_sentences(page: Page) -> None:
    answer = ask(page, "Where is Kestrel based?")
    short = answer.locator(".ba-short")
    short.wait_for(timeout=10_000)
    assert short.is_visible()
    assert re.fullmatch(r"Answer:\s*Pune\s*\[1\]", short.inner_text().strip()), short.inner_text()
    text = answer.inner_text()
    assert text.index("Pune") < text.index("Based in Pune")  # above the sentences it comes from
    # Its marker opens the cited sentence in the viewer, as the sentences' markers do.
    short.locator("a[href*='/view/']").click()
    highlighted = page.frame_locator("#ba-viewer iframe").locator("mark#hl")
    highlighted.wait_for(timeout=10_000)
    assert "Based in Pune" in highlighted.inner_text()
    shot(page, "short-answer")
