"""How the browser tests and the start-up benchmark launch chromium: Debian's when it is installed,
else the one Playwright downloaded (``make test`` provides one or the other, see
``tests/provision_browser.sh``). Without the background-networking flags chromium calls out."""

import shutil
from pathlib import Path
from typing import Any

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def system_chromium() -> str | None:
    """The path of an installed chromium (Debian's first, then one on PATH), or None.

    The same two places ``tests/provision_browser.sh`` looks at before it installs anything."""
    if DEBIAN_CHROMIUM.exists():
        return str(DEBIAN_CHROMIUM)
    return shutil.which("chromium")


def launch(playwright: Any, **options: Any) -> Any:
    """A headless chromium Browser with BROWSER_ARGS: the system's chromium when there is one,
    otherwise Playwright's own (which ``playwright install chromium`` put in place)."""
    executable = system_chromium()
    if executable is not None:
        options.setdefault("executable_path", executable)
    return playwright.chromium.launch(args=BROWSER_ARGS, **options)
