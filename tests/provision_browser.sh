#!/usr/bin/env bash
# Gives the browser tests a chromium to drive before `make test` runs them.
# Debian's chromium is preferred (security updates come with the system); where it cannot be
# installed (no root, no non-interactive sudo, no apt-get, or the install fails), Playwright's own
# chromium is downloaded instead and we say so. tests/browser.py looks in the same two places.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_CHROMIUM=/usr/bin/chromium

have_chromium() {
    [ -x "$DEBIAN_CHROMIUM" ] || command -v chromium >/dev/null 2>&1
}

if have_chromium; then
    exit 0
fi

# How to run apt-get: directly as root, through sudo only if it needs no password (make must
# never stop at a prompt), otherwise not at all.
as_root=""
can_apt=no
why="there is no apt-get here"
if command -v apt-get >/dev/null 2>&1; then
    why="apt-get needs root or password-less sudo, and neither is available"
    if [ "$(id -u)" -eq 0 ]; then
        can_apt=yes
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root="sudo -n"
        can_apt=yes
    fi
fi

if [ "$can_apt" = yes ]; then
    echo "provision: no chromium found; installing Debian's chromium with apt-get"
    # A failed update (e.g. one unreachable mirror) should not stop an install from lists we have.
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || true
    if $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium && have_chromium; then
        echo "provision: installed $(command -v chromium || echo "$DEBIAN_CHROMIUM")"
        exit 0
    fi
    why="apt-get could not install chromium"
fi

echo "provision: ************************************************************************"
echo "provision: no system chromium, and $why."
echo "provision: Running '.venv/bin/playwright install chromium': the browser tests will"
echo "provision: use Playwright's downloaded chromium instead of Debian's."
echo "provision: ************************************************************************"
.venv/bin/playwright install chromium
