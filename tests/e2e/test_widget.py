"""The help widget (``/widget.js``) in a real browser, embedded in pages of other sites.

One app process (``python app.py``) over the test article, with ``BRIEF_WIDGET_ORIGINS``
naming one host site, and ``BRIEF_API_KEYS`` an admin key and an ask key per test (the rate
limit counts per key, so the tests don't spend each other's allowance). Host pages come from
two small servers on other 127.0.0.1 ports: the listed site and one that is not listed. Any
request to a host other than loopback fails the test. Screenshots: tests/artifacts/widget-*.
"""

from __future__ import annotations

import contextlib
import html
import http.server
import json
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route

from assistant.settings import Settings
from tests.conftest import ARTICLE, ROOT
from tests.e2e import test_web
from tests.e2e.test_web import LOOPBACK, running_app, shot

browser = test_web.browser  # the fixture: one chromium for the module

WIDGET_JS = ROOT / "assistant" / "faces" / "http" / "static" / "widget.js"
RATE_PER_MINUTE = 6
KEYS = {
    name: f"{name}-widget-key-0123456789ab"
    for name in ("admin", "direct", "answer", "css", "xss", "keyboard", "history", "limited")
}
KEYS["flaky"] = "flaky-widget-key-0123456789ab"
KEYS["short"] = "short-widget-key-0123456789ab"
ANSWER_TIMEOUT_MS = 60_000
HOSTILE = "<img src=x onerror=window.__pwned=1>"


class HostSite:
    """A web site on its own 127.0.0.1 port (so its own origin) serving pages from a dict."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page = pages.get(self.path.split("?")[0])
                body = (page or "not found").encode()
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, page: str) -> str:
        self.pages[path] = page
        return self.origin + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def host_page(app: str, key: str, css: str = "", **options: str) -> str:
    """A shop's page with the one widget tag; ``options`` become its data- attributes."""
    data = "".join(f' data-{k}="{html.escape(v)}"' for k, v in options.items())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Harbour Books</title><style>{css}</style></head><body>"
        "<header><h1>Harbour Books</h1><a id='shop' href='#shop'>Shop</a> "
        "<a id='contact' href='#contact'>Contact</a></header>"
        "<main><div class='hero'><p id='probe'>New arrivals every Friday. "
        "Ask us anything about our reading lists.</p></div></main>"
        f"<script src='{app}/widget.js' data-api-key='{key}'{data} async></script>"
        "</body></html>"
    )


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[HostSite, HostSite]]:
    """(the listed site, a site that is not listed)."""
    listed, other = HostSite(), HostSite()
    yield listed, other
    listed.close()
    other.close()


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, sites: tuple[HostSite, HostSite]
) -> Iterator[str]:
    """The app, with a hostile note in collection 'notes' added through the API."""
    # Keys carry collections (issue 24): the xss test's key reads 'notes', the others default.
    scopes = {"admin": "admin", "xss": "ask@notes"}
    keys = ",".join(f"{k}:{scopes.get(name, 'ask')}" for name, k in KEYS.items())
    root = tmp_path_factory.mktemp("widget")
    with running_app(
        root,
        BRIEF_WIDGET_ORIGINS=sites[0].origin,
        BRIEF_API_KEYS=keys,
        BRIEF_RATE_LIMIT_PER_MINUTE=str(RATE_PER_MINUTE),
    ) as url:
        note = (
            "Quarry noise complaints\n\n"
            "The Dunmore quarry received 37 noise complaints in April, the council said. "
            f"Residents quoted the code {HOSTILE} in their letters to the council.\n"
        )
        added = httpx.post(
            url + "/api/v1/documents",
            files={"files": ("quarry.txt", note.encode())},
            data={"collection": "notes"},
            headers=bearer("admin"),
            timeout=120,
        )
        assert added.status_code == 200, added.text
        yield url


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


@contextlib.contextmanager
def visit(browser: Browser, url: str, width: int = 1280, height: int = 800) -> Iterator[Page]:
    """A fresh page at ``url``; every request it makes is recorded, and any that leaves
    loopback fails the test."""
    context = browser.new_context(viewport={"width": width, "height": height})
    requests: list[str] = []
    # Recorded, not routed: routing would make Playwright answer CORS preflights itself.
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.goto(url)
    page.locator("briefing-assistant .launcher").wait_for(timeout=10_000)
    try:
        yield page
    finally:
        context.close()
    outside = [u for u in requests if urlparse(u).hostname not in LOOPBACK]  # none here anyway
    assert outside == [], f"the page called out: {outside}"


def part(page: Page, selector: str) -> Locator:
    """An element of the widget (Playwright's CSS selectors pierce its open shadow root)."""
    return page.locator(f"briefing-assistant {selector}")


def in_shadow(page: Page, script: str, arg: Any = None) -> Any:
    """Evaluate ``script`` (a function of the shadow root and ``arg``) in the page."""
    return page.evaluate(
        f"([arg]) => ({script})(document.querySelector('briefing-assistant').shadowRoot, arg)",
        [arg],
    )


def replies(page: Page) -> Locator:
    return part(page, ".msg.bot:not(.greeting)")


def finished(page: Page, after: int) -> Locator:
    """The last reply, once there are more than ``after`` and it is no longer streaming."""
    page.wait_for_function(
        """n => {
            const r = document.querySelector('briefing-assistant').shadowRoot;
            const bots = r.querySelectorAll('.msg.bot:not(.greeting)');
            return bots.length > n && !bots[bots.length - 1].hasAttribute('aria-busy');
        }""",
        arg=after,
        timeout=ANSWER_TIMEOUT_MS,
    )
    return replies(page).last


def ask(page: Page, question: str) -> Locator:
    """Type a question into the open panel, press Enter, return the finished reply."""
    before = replies(page).count()
    part(page, "textarea").fill(question)
    part(page, "textarea").press("Enter")
    return finished(page, before)


def in_article(words: str) -> bool:
    """Whether ``words`` are the test article's own (spacing aside: cleaning splits run-ons
    such as "Arianespace.Remarkably")."""
    squeezed = "".join(words.split())
    return bool(squeezed) and squeezed in "".join(ARTICLE.read_text().split())


# --- the widget's answers -----------------------------------------------------------------------


def test_answer_with_marker_and_its_source_quote(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    url = sites[0].add("/shop.html", host_page(app, KEYS["answer"], title="Ask Harbour Books"))
    with visit(browser, url) as page:
        launcher = part(page, ".launcher")
        assert launcher.is_visible() and not part(page, ".panel").is_visible()
        box = launcher.bounding_box()
        assert box and box["x"] > 1280 - 100 and box["y"] > 800 - 100  # bottom right
        launcher.click()
        assert part(page, ".panel").is_visible()
        assert part(page, "h2").inner_text() == "Ask Harbour Books"
        assert "every answer shows" in part(page, ".greeting").inner_text()

        answer = ask(page, "Who founded Kestrel?")
        assert "Priya Raman" in answer.locator("p").first.inner_text()
        marker = answer.locator("button.marker").first
        assert marker.inner_text() == "[1]"
        assert answer.locator(".quote").first.is_hidden()
        marker.click()
        quote = answer.locator(".quote blockquote").first
        assert quote.is_visible()
        words = quote.inner_text()
        assert "Priya Raman" in words and in_article(words)
        toggle = answer.locator(".src > button").first
        assert toggle.get_attribute("aria-expanded") == "true"
        assert "European Export Rules" in toggle.inner_text()  # the title, and where
        assert "paragraph" in toggle.inner_text()
        shot(page, "widget-answer")

        # The source link opens the quote in the server's viewer, in a new tab.
        link = answer.locator(".quote a").first
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in (link.get_attribute("rel") or "")
        href = link.get_attribute("href") or ""
        assert href.startswith(app + "/view/default/")
        viewer = httpx.get(href, timeout=30)
        assert viewer.status_code == 200 and "<mark" in viewer.text

        toggle.click()  # and closes again
        assert toggle.get_attribute("aria-expanded") == "false"
        assert answer.locator(".quote").first.is_hidden()

        # Not found: said so, with the closest passages marked as not an answer.
        answer = ask(page, "What is the boiling point of liquid nitrogen?")
        assert "notfound" in (answer.get_attribute("class") or "")
        text = answer.inner_text()
        assert "Not found in the documents".upper() in text.upper()
        assert "The documents don't say." in text
        assert answer.locator("button.marker").count() == 0
        related = answer.locator(".related")
        assert "not an answer" in related.locator("h3").inner_text().lower()
        related.locator(".src > button").first.click()
        assert in_article(related.locator("blockquote").first.inner_text())
        shot(page, "widget-not-found")


def test_a_hostile_host_stylesheet_neither_breaks_nor_hides_it(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    css = (
        "* { all: unset !important; } "
        "div { display: none !important; } "
        "html { font-size: 4px !important; } "
        "button, textarea, [role=dialog], ol, li { display: none !important; } "
        "[hidden] { display: block !important; } "
        "p { color: magenta !important; font: 40px/1 serif !important; }"
    )
    url = sites[0].add("/hostile-css.html", host_page(app, KEYS["css"], css=css))
    with visit(browser, url) as page:
        # The page's rules do apply to the page: its own div is gone.
        assert page.locator("div.hero").is_hidden()
        launcher = part(page, ".launcher")
        box = launcher.bounding_box()
        assert box and 50 <= box["width"] <= 60 and box["x"] > 1280 - 100
        assert part(page, ".panel").is_hidden()  # [hidden] from the page doesn't reach in
        launcher.click()
        panel = part(page, ".panel")
        assert panel.is_visible()
        box = panel.bounding_box()
        assert box and 370 <= box["width"] <= 390 and box["height"] > 300
        answer = ask(page, "How much did KX1 reportedly cost to develop?")
        assert "$18.5 million" in answer.inner_text()
        font = in_shadow(page, "r => getComputedStyle(r.querySelector('.msg.bot p')).fontSize")
        assert font == "15px"
        answer.locator("button.marker").first.click()
        assert answer.locator(".quote blockquote").first.is_visible()
        shot(page, "widget-hostile-css")


def test_its_css_stays_inside_and_it_adds_one_global(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    script = httpx.get(app + "/widget.js", timeout=30)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "max-age" in script.headers["cache-control"]
    again = httpx.get(app + "/widget.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert WIDGET_JS.stat().st_size < 40_000
    source = WIDGET_JS.read_text()
    assert "innerHTML" not in source and "insertAdjacentHTML" not in source
    assert '"__BRIEF_COLLECTION__"' not in script.text  # the server named its collection

    # A plain page first; the tag is added afterwards, as an async script would arrive.
    page_html = host_page(app, KEYS["answer"]).split("<script src=")[0] + (
        "<button id='buy'>Buy</button><h2 id='sub'>Opening hours</h2></body></html>"
    )
    url = sites[0].add("/plain.html", page_html)
    styles = """() => ['body', '#probe', '#buy', '#sub', 'h1', 'a'].map(s => {
        const c = getComputedStyle(document.querySelector(s));
        return [c.font, c.color, c.display, c.margin, c.padding, c.background, c.boxSizing];
    })"""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    try:
        page.goto(url)
        before_keys = page.evaluate("Object.keys(window)")
        before_styles = page.evaluate(styles)
        sheets = page.evaluate("document.styleSheets.length")
        page.evaluate(
            """([src, key]) => { const s = document.createElement('script');
                s.src = src; s.async = true; s.dataset.apiKey = key; s.dataset.open = 'true';
                document.body.append(s); }""",
            [app + "/widget.js", KEYS["answer"]],
        )
        part(page, ".panel").wait_for(timeout=10_000)  # data-open: open on load
        added = set(page.evaluate("Object.keys(window)")) - set(before_keys)
        assert added == {"BriefingAssistant"}
        assert page.evaluate(styles) == before_styles
        assert page.evaluate("document.styleSheets.length") == sheets
        assert page.evaluate("document.activeElement === document.body")  # focus not taken
        # Nothing fetched but the script itself: no fonts, no CDN, not even a call to the API.
        assert [u for u in requests if not u.startswith(sites[0].origin)] == [app + "/widget.js"]
    finally:
        context.close()


# --- who may use it ------------------------------------------------------------------------------


def test_a_site_not_listed_is_refused_and_told_so(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    listed, other = sites
    url = other.add("/elsewhere.html", host_page(app, KEYS["answer"]))
    with visit(browser, url) as page:
        part(page, ".launcher").click()
        reply = ask(page, "Who founded Kestrel?")
        assert reply.get_attribute("role") == "alert"
        assert "This site is not allowed to use the assistant" in reply.inner_text()
        assert reply.locator("button.retry").count() == 0  # retrying can't help
        shot(page, "widget-refused")

    # The server refuses it, before any key check; the listed site and the server's own
    # pages get through; so does a caller without an Origin (a script, a server).
    question = {"question": "Where is Kestrel based?"}
    refused = httpx.post(
        app + "/api/v1/ask", json=question, headers={"Origin": other.origin}, timeout=30
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert refused.headers["access-control-allow-origin"] == other.origin  # readable
    assert "access-control-allow-credentials" not in refused.headers
    for origin in (other.origin, listed.origin):
        preflight = httpx.options(
            app + "/api/v1/ask/stream",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    allowed = httpx.post(
        app + "/api/v1/ask",
        json=question,
        headers={"Origin": listed.origin, **bearer("direct")},
        timeout=60,
    )
    assert allowed.status_code == 200 and "Pune" in allowed.json()["text"]
    assert allowed.headers["access-control-allow-origin"] == listed.origin
    assert "Retry-After" in allowed.headers["access-control-expose-headers"]
    unkeyed = httpx.get(app + "/api/v1/health", headers={"Origin": listed.origin})
    assert unkeyed.status_code == 401  # listed, but still needs its key
    assert unkeyed.headers["access-control-allow-origin"] == listed.origin
    own = httpx.get(app + "/api/v1/health", headers={"Origin": app, **bearer("direct")})
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers
    assert httpx.get(app + "/api/v1/health", headers=bearer("direct")).status_code == 200
    # The chat answers its own pages only (issue 24): a fetch from any other site, the listed
    # one too, is refused and never with credentials. (Opening the chat from a link sends no
    # Origin: it is not affected.)
    for origin in (other.origin, listed.origin):
        chat = httpx.get(app + "/", headers={"Origin": origin})
        assert chat.status_code == 403 and chat.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-credentials" not in chat.headers
    assert httpx.get(app + "/").status_code == 200


def test_widget_origins_setting() -> None:
    s = Settings(widget_origins=" https://Shop.example.org/ ,http://127.0.0.1:8000,https://a.b:443")
    assert s.widget_origins == ("https://shop.example.org", "http://127.0.0.1:8000", "https://a.b")
    assert Settings(widget_origins="").widget_origins == ()
    for bad in ("*", "https://shop.example.org/help", "shop.example.org"):
        with pytest.raises(ValueError, match="not an origin"):
            Settings(widget_origins=bad)


# --- safety, keyboard, memory, failures ----------------------------------------------------------


def test_document_text_is_shown_as_text(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    url = sites[0].add("/notes.html", host_page(app, KEYS["xss"], collection="notes", open="true"))
    with visit(browser, url) as page:
        part(page, ".panel").wait_for()
        answer = ask(page, "What code did residents quote in their letters about the quarry?")
        assert HOSTILE in answer.locator("p").first.inner_text()
        answer.locator(".src > button").first.click()
        assert HOSTILE in answer.locator(".quote blockquote").first.inner_text()
        href = answer.locator(".quote a").first.get_attribute("href") or ""
        assert href.startswith(app + "/view/notes/")
        page.wait_for_timeout(300)  # an onerror would have fired by now
        assert page.evaluate("window.__pwned") is None
        assert in_shadow(page, "r => r.querySelectorAll('img, script').length") == 0
        assert page.evaluate("document.querySelectorAll('img').length") == 0
        shot(page, "widget-document-text")


def test_keyboard_only_aria_and_a_phone_screen(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    url = sites[0].add("/phone.html", host_page(app, KEYS["keyboard"], position="bottom-left"))
    with visit(browser, url, width=390, height=844) as page:
        launcher = part(page, ".launcher")
        # Tab: the page's two links, then the launcher.
        focused = "r => r.activeElement && (r.activeElement.id || r.activeElement.className)"
        for _ in range(3):
            page.keyboard.press("Tab")
        assert in_shadow(page, focused) == "launcher"
        assert launcher.get_attribute("aria-expanded") == "false"
        assert launcher.get_attribute("aria-controls") == "ba-panel"
        assert launcher.get_attribute("aria-label") == "Ask us (help chat)"
        box = launcher.bounding_box()
        assert box and box["x"] < 100  # bottom-left

        page.keyboard.press("Enter")
        panel = part(page, "#ba-panel")
        assert panel.is_visible() and launcher.get_attribute("aria-expanded") == "true"
        assert panel.get_attribute("role") == "dialog"
        assert panel.get_attribute("aria-modal") == "true"
        assert panel.get_attribute("aria-labelledby") == "ba-title"
        log = part(page, ".log")
        assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
        assert in_shadow(page, "r => r.querySelector('textarea').labels[0].textContent")
        assert in_shadow(page, focused) == "ba-question"

        page.keyboard.type("Who founded Kestrel?")
        before = replies(page).count()
        page.keyboard.press("Enter")
        answer = finished(page, before)
        assert "Priya Raman" in answer.inner_text()

        # Tab cycles within the open panel, both ways.
        count = in_shadow(
            page,
            "r => [...r.querySelectorAll('#ba-panel :is(button, textarea, a, .log)')]"
            ".filter(n => !n.disabled && n.getClientRects().length).length",
        )
        seen = []
        for _ in range(count):
            page.keyboard.press("Tab")
            seen.append(
                in_shadow(page, "r => r.getElementById('ba-panel').contains(r.activeElement)")
            )
        assert all(seen) and in_shadow(page, focused) == "ba-question"
        page.keyboard.press("Tab")
        assert in_shadow(page, focused) == "send"  # the last
        page.keyboard.press("Tab")
        assert in_shadow(page, focused) == "new"  # the first: New chat
        page.keyboard.press("Shift+Tab")
        assert in_shadow(page, focused) == "send"

        # It fits the phone: nothing wider than the screen, the panel inside it.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = panel.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] > 340
        shot(page, "widget-phone-390")

        page.keyboard.press("Escape")
        assert panel.is_hidden() and launcher.get_attribute("aria-expanded") == "false"
        assert in_shadow(page, focused) == "launcher"


def test_conversation_survives_a_reload_and_follow_ups_carry_it(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    url = sites[0].add("/memory.html", host_page(app, KEYS["history"]))
    with visit(browser, url) as page:
        sent: list[dict[str, Any]] = []
        page.on(
            "request",
            lambda r: (
                sent.append(json.loads(r.post_data or "{}"))
                if r.url.endswith("/ask/stream") and r.method == "POST"
                else None
            ),
        )
        part(page, ".launcher").click()
        first = ask(page, "Who founded Kestrel?")
        assert "Priya Raman" in first.inner_text()
        assert sent[-1] == {"question": "Who founded Kestrel?", "history": []}

        page.reload()
        part(page, ".panel").wait_for(timeout=10_000)  # it was open: it still is
        assert part(page, ".msg.user").first.inner_text() == "Who founded Kestrel?"
        restored = replies(page).first
        assert "Priya Raman" in restored.inner_text()
        restored.locator("button.marker").first.click()  # its sources came back too
        assert "Priya Raman" in restored.locator(".quote blockquote").first.inner_text()

        follow = ask(page, "What did she acknowledge?")
        assert "acknowledg" in follow.inner_text().lower()
        history = sent[-1]["history"]
        assert [m["role"] for m in history] == ["user", "assistant"]
        assert history[0]["content"] == "Who founded Kestrel?"
        assert "Priya Raman" in history[1]["content"]
        shot(page, "widget-follow-up")

        part(page, "button.new").click()
        assert replies(page).count() == 0
        page.reload()
        part(page, ".panel").wait_for(timeout=10_000)
        assert replies(page).count() == 0 and part(page, ".msg.user").count() == 0


def test_rate_limit_and_network_failures_offer_a_retry(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    # The real server's limit: this key spends its allowance, then the widget asks.
    codes = [
        httpx.get(app + "/api/v1/health", headers=bearer("limited")).status_code
        for _ in range(RATE_PER_MINUTE + 1)
    ]
    assert codes[-1] == 429
    url = sites[0].add("/busy.html", host_page(app, KEYS["limited"], open="true"))
    with visit(browser, url) as page:
        reply = ask(page, "Who founded Kestrel?")
        assert re.search(r"Too many questions right now; try again in \d+ s", reply.inner_text())
        assert reply.locator("button.retry").is_visible()
        shot(page, "widget-rate-limited")

    url = sites[0].add("/flaky.html", host_page(app, KEYS["flaky"], open="true", timeout="2"))
    with visit(browser, url) as page:
        stream = "**/api/v1/ask/stream"
        page.route(stream, lambda route: route.abort("connectionrefused"))
        reply = ask(page, "Who founded Kestrel?")
        assert "Can't reach the assistant" in reply.inner_text()
        page.unroute(stream)

        stalled: list[Route] = []
        page.route(stream, lambda route: stalled.append(route))  # never answered
        before = replies(page).count()
        reply.locator("button.retry").click()
        reply = finished(page, before - 1)
        assert "taking too long" in reply.inner_text() and stalled
        page.unroute(stream)

        def broken(route: Route) -> None:
            route.fulfill(
                status=200,
                headers={
                    "Content-Type": "text/event-stream",
                    "Access-Control-Allow-Origin": sites[0].origin,
                },
                body='event: delta\ndata: {"text": "Priya"}\n\n'
                'event: error\ndata: {"code": "internal", "message": "The index is busy."}\n\n',
            )

        page.route(stream, broken)
        reply.locator("button.retry").click()
        reply = finished(page, before - 1)
        assert "The index is busy." in reply.inner_text()
        shot(page, "widget-error")
        page.unroute(stream)

        reply.locator("button.retry").click()
        answer = finished(page, before - 1)
        assert "Priya Raman" in answer.inner_text()
        assert part(page, ".msg.user").count() == 1  # retries don't repeat the question

        # Stop: while an answer is on its way the Ask button stops it; nothing half-done is
        # shown, and the button asks again.
        page.route(stream, lambda route: stalled.append(route))  # never answered
        before = replies(page).count()
        part(page, "textarea").fill("Where is Kestrel based?")
        part(page, "textarea").press("Enter")
        button = part(page, "button.send")
        button.filter(has_text="Stop").wait_for()
        assert button.get_attribute("aria-label") == "Stop the answer"
        part(page, "textarea").press("Enter")  # Enter does not stop it
        assert button.inner_text() == "Stop"
        button.click()
        stopped = finished(page, before)
        assert stopped.inner_text().strip() == "Stopped."
        assert button.inner_text() == "Ask" and button.get_attribute("aria-label") is None
        page.unroute(stream)
        answer = ask(page, "Where is Kestrel based?")
        assert "Pune" in answer.inner_text()


def test_the_short_answer_is_shown_first_and_kept(
    browser: Browser, app: str, sites: tuple[HostSite, HostSite]
) -> None:
    url = sites[0].add("/short.html", host_page(app, KEYS["short"], open="true"))
    with visit(browser, url) as page:
        part(page, ".panel").wait_for()
        answer = ask(page, "How much did KX1 cost?")
        short = answer.locator(".short")
        assert short.is_visible()
        said = short.inner_text().strip()
        assert re.fullmatch(r"answer:\s*\$18\.5 million\s*\[1\]", said, re.I), said
        assert short.locator("strong").inner_text() == "$18.5 million"
        above = answer.evaluate(
            "n => n.querySelector('.short').compareDocumentPosition(n.querySelector('p')) & 4"
        )
        assert above  # the short answer comes before the cited sentences
        short.locator("button.marker").click()  # its marker opens the source it lies in
        assert "$18.5 million" in answer.locator(".quote blockquote").first.inner_text()
        shot(page, "widget-short-answer")

        page.reload()  # kept with the conversation
        part(page, ".panel").wait_for(timeout=10_000)
        restored = replies(page).first.locator(".short strong")
        assert restored.inner_text() == "$18.5 million"
