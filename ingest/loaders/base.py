"""What every loader returns, and the small helpers loaders share (titles, dates)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath

from assistant.text.dates import MONTHS
from ingest.normalize import Block


@dataclass
class Extracted:
    """A document as a loader read it: blocks of text, plus a title and date if found."""

    blocks: list[Block]
    title: str
    date: str | None = None  # ISO 8601 day, "2025-01-28"
    kind: str = "text"
    extra: dict[str, str] = field(default_factory=dict)


def title_from_name(name: str) -> str:
    """A readable title from a file name or URL: ``q3-risk_report.pdf`` -> ``q3 risk report``."""
    stem = PurePath(name.rstrip("/")).stem or name
    title = re.sub(r"[_\-]+", " ", stem).strip()
    return title or "Untitled"


_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<mnum>\d{1,2})-(?P<day>\d{1,2})\b"),
    re.compile(
        _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d{2})\b", re.I
    ),
    re.compile(
        r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>(?:19|20)\d{2})\b", re.I
    ),
]


def _to_iso(match: re.Match[str]) -> str | None:
    parts = match.groupdict()
    month = int(parts["mnum"]) if parts.get("mnum") else MONTHS[parts["month"].lower()]
    try:
        return date(int(parts["year"]), month, int(parts["day"])).isoformat()
    except ValueError:
        return None


def find_date(text: str) -> str | None:
    """The first full calendar date in ``text`` (ISO, "March 5, 2025" or "5 March 2025"), as ISO."""
    found = []
    for pattern in _DATE_PATTERNS:
        m = pattern.search(text)
        if m and (iso := _to_iso(m)):
            found.append((m.start(), iso))
    return min(found)[1] if found else None


def parse_any_date(value: object) -> str | None:
    """An ISO day from a datetime, a date, an ISO string or a PDF date ("D:20250128...")."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    m = re.match(r"^(?:D:)?((?:19|20)\d{2})(\d{2})(\d{2})", text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    return find_date(text)
