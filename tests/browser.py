"""How the browser tests and the start-up benchmark launch Debian's chromium (never a
browser downloaded by Playwright); without the background-networking flags it calls out."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
