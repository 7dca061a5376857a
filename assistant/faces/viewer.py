"""A briefing as the faces show it: JSON for the CLI and the API; for the web chat, Markdown whose
markers link to their quotes, the Sources panel, the Markdown export's file, and "Brief me"
typed into the chat.

The briefing itself is ``Assistant.brief`` (``assistant/briefing/``); this module only renders
it, with the same escaping and viewer links as answers (``assistant/faces/render.py``).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answering.answer import Answer, Citation
from assistant.briefing import Briefing
from assistant.briefing.as_markdown import briefing_markdown
from assistant.faces.render import (
    DocumentText,
    Signer,
    answer_markdown,
    escape_markdown,
    sources_html,
)

if TYPE_CHECKING:
    from assistant.settings import Settings

#: "Brief me", "brief me on export controls", "Brief me on “export controls”." The focus is
#: taken greedily and its trailing punctuation dropped after (``requested_focus``): a lazy
#: focus followed by ``[\s.!?]*`` took time quadratic in the message's length.
_REQUEST = re.compile(r"brief me(?:\s+on\s+(.+))?[\s.!?]*", re.IGNORECASE | re.DOTALL)
_QUOTES = "\"'“”‘’«»"
#: What ends a request without being part of its focus (white space is single spaces here).
_TRAILING = " .!?"


def briefing_json(briefing: Briefing) -> dict[str, Any]:
    """The briefing's fields (``Briefing.to_dict``), whether it is empty, and its Markdown
    export (markers [n], sources listed at the end)."""
    return {**briefing.to_dict(), "empty": briefing.empty, "markdown": briefing.to_markdown()}


def export_name(collection: str) -> str:
    """The Markdown export's file name (collection names are letters, digits, - and _)."""
    return f"briefing-{collection}.md"


def request_text(focus: str | None) -> str:
    """What the chat shows as the user's turn: "Brief me", or "Brief me on “focus”"."""
    focus = " ".join((focus or "").split())
    return f"Brief me on “{focus}”" if focus else "Brief me"


def requested_focus(message: str) -> str | None:
    """The focus of a chat message that asks for a briefing ("" for none), else None."""
    m = _REQUEST.fullmatch(" ".join(str(message or "").split()))
    if m is None:
        return None
    focus = m.group(1) or ""
    # The focus without its trailing punctuation, as a lazy match would have left it: at least
    # its first character ("brief me on ?!" asks about "?").
    focus = focus.rstrip(_TRAILING) or focus[:1]
    return focus.strip().strip(_QUOTES).strip()


def without_briefings(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation without its briefing requests and the briefings that answered them.

    A question is not a follow-up to a briefing: carried over, a briefing's many names would
    be searched along with a short question that leans on nothing ("Who founded DeepSeek?").
    """
    kept: list[dict[str, str]] = []
    skipping = False
    for turn in turns:
        if turn.get("role") == "user":
            skipping = requested_focus(turn.get("content", "")) is not None
        if not skipping:
            kept.append(turn)
    return kept


def chat_markdown(briefing: Briefing, sign: Signer | None = None) -> str:
    """The briefing for the chat: escaped text, each marker a link to its quote in /view."""
    if briefing.documents == 0:
        return (
            f"*{escape_markdown(briefing.collection)}* has no documents yet, so there is "
            "nothing to brief on: add some under *Documents*, then ask again."
        )
    return briefing_markdown(
        briefing, marker=_marker(briefing.collection, sign), escape=escape_markdown, sources=False
    )


def _marker(collection: str, sign: Signer | None) -> Callable[[Citation], str]:
    def marker(citation: Citation) -> str:
        # The same link, with the same hover, as an answer's marker.
        return answer_markdown(f"[{citation.n}]", {citation.n: citation}, collection, sign=sign)

    return marker


def sources_panel(
    briefing: Briefing, document_text: DocumentText, sign: Signer | None = None
) -> str:
    """The Sources panel: every quote the briefing cites, highlighted in its paragraph."""
    if briefing.empty:
        where = html.escape(briefing.collection)
        return (
            f'<div class="ba-sources ba-empty">Nothing to brief on in <em>{where}</em>'
            + (f" about “{html.escape(briefing.focus)}”" if briefing.focus else "")
            + ".</div>"
        )
    cited = Answer(question=briefing.focus or "", text="", citations=briefing.citations)
    return sources_html(cited, briefing.collection, document_text, sign)


def exports_folder(settings: Settings) -> Path:
    """Where the chat writes briefings' exports for download: ``BRIEF_DATA_DIR/exports``, the
    server's own folder (mode 0700), not a shared temporary one whose name any user of the
    machine can guess, take first or read."""
    return Path(settings.data_dir) / "exports"


def write_export(briefing: Briefing, folder: Path) -> Path:
    """The briefing's Markdown export as ``folder/<digest>/briefing-<collection>.md``.

    One folder per content: two people briefing the same collection on different focuses at
    once never overwrite each other's file, and the same briefing is written once. Exports
    older than ``EXPORT_TTL_S`` are removed as new ones are written.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    prune_exports(folder)
    text = briefing.to_markdown()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    path = folder / digest / export_name(briefing.collection)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then renamed: a reader never sees half a file.
        fd, partial = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(partial, path)
    return path


#: How long a briefing's export stays downloadable (its page link) before it is removed.
EXPORT_TTL_S = 24 * 3600


def prune_exports(folder: Path, max_age_s: float = EXPORT_TTL_S) -> int:
    """Remove export folders under ``folder`` last written more than ``max_age_s`` ago;
    returns how many. Another process removing one at the same moment is not an error."""
    import shutil
    import time

    if not folder.is_dir():
        return 0
    cutoff = time.time() - max_age_s
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.is_dir() and not entry.is_symlink() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
